using Renci.SshNet;
using Wire.Enforcement;
using Wire.Enforcement.Approvals;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;
using Wire.Ssh.Proxy;
using Wire.Ssh.Tests.Infrastructure;

namespace Wire.Ssh.Tests.Proxy;

/// <summary>
/// Rules on SSH through Wire to a real sshd (DESIGN.md §4's error table): a denied exec gets stderr
/// <c>wire: denied by rule NAME</c>, exit status 126, EOF and close, and the connection stays usable; a denied pty or
/// subsystem gets CHANNEL_FAILURE; a denied forward OPEN_FAILURE 1 (or REQUEST_FAILURE for a listener); a review holds
/// only its channel (other commands and keepalives go on) and is approved or denied from the test as a reviewer would.
/// </summary>
public sealed class SshPolicyTests(SshdFixture sshd) : WireSshTestBase(sshd,
    ("app", SshForwarding.Local | SshForwarding.Remote), ("strict", SshForwarding.Local | SshForwarding.Remote)), IClassFixture<SshdFixture>
{
    private static readonly WireIdentity Bob = new("bob", ["ops"], "static-token");
    private readonly InMemoryApprovalBroker _approvals = new();

    protected override WireEnforcement Enforcement => new()
    {
        Approvals = _approvals,
        Rules = new RuleSetProvider(RuleSet.Create(
        [
            // GNU rm refuses "rm -rf /" on its own (--preserve-root): if Wire let it through, the exit status would be 1, not 126.
            new RuleDefinition { Name = "no-rm-root", Action = PolicyAction.Deny, Commands = ["rm -rf /", "rm -rf / *"], Message = "never" },
            new RuleDefinition { Name = "ask-ops", Action = PolicyAction.Review, Commands = ["echo reviewed-*"], Approvers = ["ops"] },
            new RuleDefinition { Name = "quick-review", Action = PolicyAction.Review, Commands = ["echo hurried-*"], Approvers = ["ops"],
                Timeout = TimeSpan.FromSeconds(1) },
            new RuleDefinition { Name = "no-internal", Action = PolicyAction.Deny, Forwards = ["127.0.0.2:*"] },
            new RuleDefinition { Name = "strict-channels", Action = PolicyAction.Deny, Targets = ["strict"],
                Channels = ["shell", "pty", "subsystem", "tcpip-forward"] },
        ])),
    };

    [Fact]
    public async Task A_denied_exec_reports_the_rule_on_stderr_with_exit_status_126()
    {
        foreach (var command in (string[])["rm -rf /", "cd /tmp && rm   -rf /", "echo fine; rm -rf /"])
        {
            var result = await Processes.RunAsync("ssh", SshArguments("alice+app@127.0.0.1", command), Timeout);
            Assert.True(result.ExitCode == 126, $"{command}: exit {result.ExitCode}: {result.StandardError}");
            Assert.Equal("wire: denied by rule no-rm-root: never\r\n", result.StandardError);
            Assert.Equal("", result.StandardOutput);
        }

        // SSH.NET sees the same, and the connection goes on serving.
        using var client = new SshClient(new ConnectionInfo("127.0.0.1", Port, "alice+app", new PasswordAuthenticationMethod("alice+app", Token)));
        await client.ConnectAsync(CancellationToken.None);
        using (var denied = client.RunCommand("rm -rf /"))
        {
            Assert.Equal(126, denied.ExitStatus);
            Assert.Contains("wire: denied by rule no-rm-root", denied.Error, StringComparison.Ordinal);
        }
        using var allowed = client.RunCommand("echo still-$((6*7))");
        Assert.Equal("still-42\n", allowed.Result);
    }

    [Fact]
    public async Task Sessions_and_judged_commands_are_activities_on_the_wire_source()
    {
        var stopped = new System.Collections.Concurrent.ConcurrentQueue<System.Diagnostics.Activity>();
        using var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == "Wire",
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllData,
            ActivityStopped = stopped.Enqueue,
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        var result = await Processes.RunAsync("ssh", SshArguments("alice+app@127.0.0.1", "rm -rf /"), Timeout);
        Assert.Equal(126, result.ExitCode);

        System.Diagnostics.Activity? command = null;
        Assert.True(await Wire.Testing.Eventually.WaitAsync(() =>
            (command = stopped.FirstOrDefault(a => a.OperationName == "wire.command" && (string?)a.GetTagItem("wire.rule") == "no-rm-root")) is not null
            && stopped.Any(a => a.OperationName == "wire.session" && a.SpanId == command.ParentSpanId)), "no wire.command activity under a wire.session");
        Assert.Equal("deny", command!.GetTagItem("wire.verdict"));
        Assert.Equal("ssh", command.GetTagItem("network.protocol.name"));
        Assert.Equal("denied", command.GetTagItem("error.type"));
        Assert.Equal(System.Diagnostics.ActivityStatusCode.Error, command.Status);
        Assert.Equal("alice", command.GetTagItem("user.id"));
        Assert.Equal("app", command.GetTagItem("wire.target"));
        Assert.DoesNotContain(command.TagObjects, t => t.Value is string s && s.Contains("rm -rf", StringComparison.Ordinal));
        var session = stopped.First(a => a.SpanId == command.ParentSpanId);
        Assert.Equal("ssh", session.GetTagItem("network.protocol.name"));
        Assert.Equal("127.0.0.1", session.GetTagItem("client.address"));
    }

    [Fact]
    public async Task A_reviewed_exec_runs_once_approved_while_other_channels_and_keepalives_go_on()
    {
        // ssh gives up after two unanswered keepalives a second apart: the review outlasts that, so keepalives must flow.
        var waiting = Processes.RunAsync("ssh", SshArguments("-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=2", "alice+app@127.0.0.1",
            "echo reviewed-$((6*7))"), Timeout);
        var request = await PendingAsync("exec: echo reviewed-$((6*7))");
        Assert.Equal("ask-ops", request.Rule);
        Assert.Equal(["ops"], request.Approvers);
        Assert.Equal("alice", request.Identity.Subject);

        // Meanwhile another channel of another connection, and the same identity's new commands, are not held.
        var other = await Processes.RunAsync("ssh", SshArguments("alice+app@127.0.0.1", "echo meanwhile"), Timeout);
        Assert.Equal("meanwhile\n", other.StandardOutput);
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.False(waiting.IsCompleted, "the reviewed command did not wait");

        Assert.Equal(ApprovalResult.OwnRequest, _approvals.Approve(request.Id, new WireIdentity("alice", ["ops"], "static-token")));
        Assert.Equal(ApprovalResult.Decided, _approvals.Approve(request.Id, Bob));
        var result = await waiting;
        Assert.True(result.ExitCode == 0, result.StandardError);
        Assert.Equal("reviewed-42\n", result.StandardOutput);
    }

    [Fact]
    public async Task A_review_holds_only_its_own_channel_on_a_shared_connection()
    {
        // One connection (an OpenSSH ControlMaster), two channels: the reviewed one waits, the other runs.
        using var directory = new TempDirectory();
        string control = Path.Combine(directory.Path, "cm");
        await using var master = await ControlMasterAsync(control);
        var held = Processes.RunAsync("ssh", SshArguments("-o", "ControlPath=" + control, "alice+app@127.0.0.1", "echo reviewed-held"), Timeout);
        var request = await PendingAsync("exec: echo reviewed-held");
        var free = await Processes.RunAsync("ssh", SshArguments("-o", "ControlPath=" + control, "alice+app@127.0.0.1", "echo free-$((2*21))"), Timeout);
        Assert.Equal("free-42\n", free.StandardOutput);
        Assert.False(held.IsCompleted, "the reviewed command did not wait");

        Assert.Equal(ApprovalResult.Decided, _approvals.Deny(request.Id, Bob));
        var result = await held;
        Assert.Equal(126, result.ExitCode);
        Assert.Equal("wire: denied by rule ask-ops (review denied by bob)\r\n", result.StandardError);
        Assert.Equal("", result.StandardOutput);
    }

    [Fact]
    public async Task A_review_that_times_out_is_refused_and_says_so()
    {
        var result = await Processes.RunAsync("ssh", SshArguments("alice+app@127.0.0.1", "echo hurried-up"), Timeout);
        Assert.Equal(126, result.ExitCode);
        Assert.Equal("wire: review by rule quick-review timed out\r\n", result.StandardError);
    }

    [Fact]
    public async Task A_denied_shell_pty_or_subsystem_is_refused_in_ssh_terms()
    {
        await using var client = await RawSshClient.ConnectAsync(Port, "alice+strict", password: Token);
        var session = await client.OpenSessionAsync();
        Assert.False(await client.RequestAsync(session, "pty-req", w => w.String("xterm").UInt32(80).UInt32(24).UInt32(0).UInt32(0).String([0])),
            "a denied pty was granted");
        Assert.False(await client.RequestAsync(session, "subsystem", w => w.String("sftp")), "a denied subsystem was started");
        // The shell "succeeds" and ends with the reason, as an exec would.
        Assert.True(await client.RequestAsync(session, "shell", _ => { }));
        await client.WaitAsync(session, c => c.Closed, "the refused shell's close");
        Assert.Equal(126u, session.ExitStatus);
        Assert.True(session.Eof);
        Assert.Equal("wire: denied by rule strict-channels\r\n", session.Errors.ToString());

        // OpenSSH's sftp reports the refused subsystem; on the other target it works.
        var sftp = await Processes.RunAsync("sftp", ScpArguments("-b", "/dev/null", "alice+strict@127.0.0.1"), Timeout);
        Assert.NotEqual(0, sftp.ExitCode);
        Assert.Contains("subsystem request failed", sftp.StandardError, StringComparison.Ordinal);
        var allowed = await Processes.RunAsync("sftp", ScpArguments("-b", "/dev/null", "alice+app@127.0.0.1"), Timeout);
        Assert.True(allowed.ExitCode == 0, allowed.StandardError);
    }

    [Fact]
    public async Task Denied_forwards_get_open_failure_1_and_request_failure()
    {
        var direct = await Processes.RunAsync("ssh", [.. SshArguments("-W", "127.0.0.2:1234", "alice+app@127.0.0.1")], Timeout, standardInput: "x");
        Assert.Equal(255, direct.ExitCode);
        await using var client = await RawSshClient.ConnectAsync(Port, "alice+app", password: Token);
        var refused = await client.OpenAsync("direct-tcpip", w => w.String("127.0.0.2").UInt32(1234).String("127.0.0.1").UInt32(5555));
        Assert.Equal(1u, refused.OpenFailure);

        var remote = await Processes.RunAsync("ssh", SshArguments("-N", "-o", "ExitOnForwardFailure=yes", "-R", $"127.0.0.1:{FreePort()}:127.0.0.1:9",
            "alice+strict@127.0.0.1"), Timeout);
        Assert.Equal(255, remote.ExitCode);
        Assert.Contains("remote port forwarding failed", remote.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failing_approval_service_refuses_the_command()
    {
        await using var wire = new WireSshHarness(Sshd, new WireEnforcement
        {
            Approvals = new ThrowingBroker(),
            Rules = new RuleSetProvider(RuleSet.Create([new RuleDefinition { Name = "ask", Action = PolicyAction.Review, Commands = ["*"], Approvers = ["ops"] }])),
        });
        var result = await Processes.RunAsync("ssh", wire.SshArguments("alice+app@127.0.0.1", "echo should-not-run"), Timeout);
        Assert.Equal(126, result.ExitCode);
        Assert.Equal("wire: the approval service failed; the request was not passed on\r\n", result.StandardError);
        Assert.Equal("", result.StandardOutput);
    }

    private async Task<ApprovalRequest> PendingAsync(string text)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            if (_approvals.PendingRequests.FirstOrDefault(r => r.Text == text) is { } request)
            {
                return request;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no review of '{text}' is pending: {string.Join(", ", _approvals.PendingRequests.Select(r => r.Text))}");
            }
            await Task.Delay(50);
        }
    }

    private sealed class ThrowingBroker : IApprovalBroker
    {
        public ValueTask<ApprovalDecision> RequestAsync(ApprovalRequest request, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("the approval store is down");
    }
}
