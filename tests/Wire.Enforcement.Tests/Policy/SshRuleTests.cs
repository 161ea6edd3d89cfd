using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;

namespace Wire.Enforcement.Tests.Policy;

/// <summary>
/// The SSH rule keys: <c>commands</c> on the whole line and each simple command in it, <c>channels</c>, <c>forwards</c>;
/// lines typed in a shell are judged only by rules about commands; SSH keys never match other protocols' requests.
/// </summary>
public sealed class SshRuleTests
{
    private static readonly WireIdentity Alice = new("alice", ["eng"], "static-token");

    private static readonly RuleSet Rules = RuleSet.Create(
    [
        new RuleDefinition { Name = "no-rm-root", Action = PolicyAction.Deny, Commands = ["rm -rf /", "rm -rf / *"] },
        new RuleDefinition { Name = "review-shells", Action = PolicyAction.Review, Channels = ["shell"], Approvers = ["sre"] },
        new RuleDefinition { Name = "no-db-forwards", Action = PolicyAction.Deny, Forwards = ["*:5432"] },
        new RuleDefinition { Name = "no-sftp", Action = PolicyAction.Deny, Channels = ["subsystem"], Commands = ["sftp"] },
        new RuleDefinition { Name = "no-shutdown", Action = PolicyAction.Deny, Pattern = "^shutdown\\b" },
    ]);

    private static Verdict Judge(SshAccess access) => Rules.ForSession(WireProtocol.Ssh, "app", Alice).Evaluate(AccessRequest.ForSsh(access));

    [Theory]
    [InlineData("rm -rf /")]
    [InlineData("  rm   -rf\t/ ")]
    [InlineData("RM -RF /")]
    [InlineData("cd /tmp && rm -rf /")]
    [InlineData("true; rm -rf / --no-preserve-root")]
    [InlineData("ls | rm -rf /")]
    [InlineData("echo $(rm -rf /)")]
    [InlineData("(rm -rf /)")]
    [InlineData("ls\nrm -rf /")]
    public void Commands_match_the_line_or_any_simple_command_in_it(string command) =>
        Assert.Equal("no-rm-root", Judge(new SshAccess("exec", command, null)).Rule);

    [Theory]
    [InlineData("rm -rf /tmp/x")]
    [InlineData("echo rm -rf")]
    [InlineData("ls /")]
    public void Other_commands_pass(string command) => Assert.Equal(PolicyAction.Allow, Judge(new SshAccess("exec", command, null)).Action);

    [Fact]
    public void A_typed_line_is_judged_by_command_rules_only()
    {
        Assert.Equal(PolicyAction.Review, Judge(new SshAccess("shell", null, null)).Action);
        // The shell was reviewed when it opened: its lines are not reviewed again, but command rules still apply.
        Assert.Equal(PolicyAction.Allow, Judge(new SshAccess("shell", "ls -l", null) { Typed = true }).Action);
        Assert.Equal("no-rm-root", Judge(new SshAccess("shell", "rm -rf /", null) { Typed = true }).Rule);
        Assert.Equal("no-shutdown", Judge(new SshAccess("shell", "shutdown -h now", null) { Typed = true }).Rule);
    }

    [Fact]
    public void Channels_and_forwards_need_their_facts()
    {
        Assert.Equal("no-db-forwards", Judge(new SshAccess("direct-tcpip", null, "db.internal:5432")).Rule);
        Assert.Equal("no-db-forwards", Judge(new SshAccess("tcpip-forward", null, "127.0.0.1:5432")).Rule);
        Assert.Equal(PolicyAction.Allow, Judge(new SshAccess("direct-tcpip", null, "db.internal:5433")).Action);
        Assert.Equal("no-sftp", Judge(new SshAccess("subsystem", "sftp", null)).Rule);
        Assert.Equal(PolicyAction.Allow, Judge(new SshAccess("subsystem", "netconf", null)).Action);
        // An exec of "sftp" is not the subsystem.
        Assert.Equal(PolicyAction.Allow, Judge(new SshAccess("exec", "sftp", null)).Action);
    }

    [Fact]
    public void Ssh_keys_never_match_other_protocols()
    {
        var policy = Rules.ForSession(WireProtocol.Postgres, "app", Alice);
        Assert.Equal(PolicyAction.Allow, policy.Evaluate(new AccessRequest(StatementKindSet.Empty, false, [], [], "rm -rf /")).Action);
        Assert.Equal(PolicyAction.Allow, Rules.ForSession(WireProtocol.Http, "app", Alice)
            .Evaluate(AccessRequest.ForHttp(new HttpAccess("GET", "h", "/"), "GET / command: rm -rf /")).Action);
    }

    [Fact]
    public void Unknown_channel_kinds_and_empty_lists_are_refused()
    {
        var e = Assert.Throws<RuleValidationException>(() => RuleSet.Create([new RuleDefinition { Name = "x", Action = PolicyAction.Deny, Channels = ["ftp"] }]));
        Assert.Contains("channels[0]", e.Message, StringComparison.Ordinal);
        Assert.Throws<RuleValidationException>(() => RuleSet.Create([new RuleDefinition { Name = "x", Action = PolicyAction.Deny, Forwards = [] }]));
    }
}
