using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;

namespace Wire.Enforcement.Tests.Policy;

/// <summary>Rules written in code (<see cref="IAccessRule"/>) combine with the configured ones by the same semantics.</summary>
public sealed class CustomRuleTests
{
    private static readonly WireIdentity Alice = new("alice", ["eng"], "static-token");

    private static AccessRequest Statement(StatementKind kind) => new(StatementKindSet.Of(kind), false, ["public.orders"], [], "x");

    private sealed class Rule(string name, Func<AccessRequest, Verdict?> decide) : IAccessRule
    {
        public string Name => name;

        public int Calls { get; private set; }

        public Verdict? Evaluate(WireProtocol protocol, string target, WireIdentity identity, in AccessRequest request)
        {
            Calls++;
            Assert.Equal(WireProtocol.Postgres, protocol);
            Assert.Equal("app", target);
            Assert.Same(Alice, identity);
            return decide(request);
        }
    }

    private static SessionPolicy Policy(IReadOnlyList<RuleDefinition> configured, params IAccessRule[] custom) =>
        new RuleSetProvider(RuleSet.Create(configured), custom).Current.ForSession(WireProtocol.Postgres, "app", Alice);

    [Fact]
    public void ADenyInCodeWinsOverAConfiguredAllow()
    {
        var policy = Policy([new RuleDefinition { Name = "reads", Action = PolicyAction.Allow, Statements = [StatementKind.Delete] }],
            new Rule("no-deletes", r => r.Kinds.Contains(StatementKind.Delete) ? Verdict.Deny("ignored", "not today") : null));
        var verdict = policy.Evaluate(Statement(StatementKind.Delete));
        Assert.Equal(PolicyAction.Deny, verdict.Action);
        Assert.Equal("no-deletes", verdict.Rule); // the rule's own name, whatever the verdict said
        Assert.Equal("not today", verdict.Message);
        Assert.Equal(PolicyAction.Allow, policy.Evaluate(Statement(StatementKind.Select)).Action);
        Assert.False(policy.AllowsEverything);
    }

    [Fact]
    public void ReviewsCombineWithConfiguredOnes()
    {
        var policy = Policy(
            [new RuleDefinition { Name = "dba", Action = PolicyAction.Review, Statements = [StatementKind.Update], Approvers = ["dba"], Timeout = TimeSpan.FromMinutes(5) }],
            new Rule("security", _ => Verdict.Review("x", ["security"], TimeSpan.FromMinutes(1))));
        var verdict = policy.Evaluate(Statement(StatementKind.Update));
        Assert.Equal(PolicyAction.Review, verdict.Action);
        Assert.Equal("dba,security", verdict.Rule);
        Assert.Equal(["dba", "security"], verdict.Approvers);
        Assert.Equal(TimeSpan.FromMinutes(1), verdict.Timeout);
    }

    [Fact]
    public void ARuleThatThrowsDenies()
    {
        var policy = Policy([], new Rule("broken", _ => throw new InvalidOperationException("bug")));
        var verdict = policy.Evaluate(Statement(StatementKind.Select));
        Assert.Equal(PolicyAction.Deny, verdict.Action);
        Assert.Equal("broken", verdict.Rule);
    }

    [Fact]
    public void ReloadedRulesKeepTheRulesInCodeAndNamesStayUnique()
    {
        var rule = new Rule("code", _ => Verdict.Deny(null, "no"));
        var provider = new RuleSetProvider(RuleSet.AllowAll, [rule]);
        provider.Update(RuleSet.Create([new RuleDefinition { Name = "other", Action = PolicyAction.Allow }]));
        Assert.Same(rule, Assert.Single(provider.Current.CustomRules));
        Assert.Equal(PolicyAction.Deny, provider.Current.ForSession(WireProtocol.Postgres, "app", Alice).Evaluate(Statement(StatementKind.Select)).Action);

        Assert.Throws<RuleValidationException>(() => RuleSet.Create([new RuleDefinition { Name = "code", Action = PolicyAction.Allow }])
            .WithCustomRules([rule]));
    }
}
