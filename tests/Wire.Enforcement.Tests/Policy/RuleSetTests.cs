using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;

namespace Wire.Enforcement.Tests.Policy;

public sealed class RuleSetTests
{
    private static readonly WireIdentity Alice = new("alice", ["eng"], "static-token");
    private static readonly WireIdentity Carol = new("carol", ["contractors"], "static-token");
    private static readonly WireIdentity Dba = new("dan", ["dba", "eng"], "static-token");

    private static AccessRequest Request(
        StatementKind kind,
        bool noWhere = false,
        string[]? relations = null,
        string[]? functions = null,
        string text = "",
        params StatementKind[] more)
    {
        var kinds = StatementKindSet.Of(kind);
        foreach (var k in more)
        {
            kinds = kinds.With(k);
        }
        return new AccessRequest(kinds, noWhere, relations ?? [], functions ?? [], text);
    }

    private static RuleSet IssueRules() => RuleSet.Create(
    [
        new RuleDefinition { Name = "no-drop", Action = PolicyAction.Deny, Statements = [StatementKind.Drop, StatementKind.Truncate], Message = "not in prod" },
        new RuleDefinition
        {
            Name = "unbounded-dml", Action = PolicyAction.Review, Statements = [StatementKind.Delete, StatementKind.Update], NoWhere = true,
            Approvers = ["dba"], Timeout = TimeSpan.FromMinutes(5),
        },
        new RuleDefinition { Name = "pii", Action = PolicyAction.Mask, Columns = ["public.customers.email", "*.*.ssn"], Detectors = ["email"] },
        new RuleDefinition { Name = "ops-only", Action = PolicyAction.Deny, Targets = ["app"], Groups = ["contractors"], Relations = ["public.payroll*"] },
    ]);

    [Fact]
    public void Deny_wins_and_names_the_rule()
    {
        var policy = IssueRules().ForSession(WireProtocol.Postgres, "app", Alice);
        var verdict = policy.Evaluate(Request(StatementKind.Drop));
        Assert.Equal(PolicyAction.Deny, verdict.Action);
        Assert.Equal("no-drop", verdict.Rule);
        Assert.Equal("not in prod", verdict.Message);
    }

    [Fact]
    public void Review_matches_only_without_where()
    {
        var policy = IssueRules().ForSession(WireProtocol.Postgres, "app", Alice);
        var review = policy.Evaluate(Request(StatementKind.Delete, noWhere: true));
        Assert.Equal(PolicyAction.Review, review.Action);
        Assert.Equal(["dba"], review.Approvers);
        Assert.Equal(TimeSpan.FromMinutes(5), review.Timeout);
        Assert.Equal(PolicyAction.Allow, policy.Evaluate(Request(StatementKind.Delete, noWhere: false)).Action);
    }

    [Fact]
    public void A_data_modifying_cte_counts_as_its_delete()
    {
        var policy = IssueRules().ForSession(WireProtocol.Postgres, "app", Alice);
        var verdict = policy.Evaluate(Request(StatementKind.Select, noWhere: true, more: StatementKind.Delete));
        Assert.Equal(PolicyAction.Review, verdict.Action);
    }

    [Fact]
    public void Session_keys_pick_the_rules_of_a_session()
    {
        var rules = IssueRules();
        var payroll = Request(StatementKind.Select, relations: ["public.payroll_2024"]);
        Assert.Equal(PolicyAction.Deny, rules.ForSession(WireProtocol.Postgres, "app", Carol).Evaluate(payroll).Action);
        Assert.Equal(PolicyAction.Allow, rules.ForSession(WireProtocol.Postgres, "app", Alice).Evaluate(payroll).Action);
        Assert.Equal(PolicyAction.Allow, rules.ForSession(WireProtocol.Postgres, "other", Carol).Evaluate(payroll).Action);
    }

    [Theory]
    [InlineData("public.payroll*", "payroll_2024", true)] // unqualified relation: any schema
    [InlineData("public.payroll*", "public.payroll", true)]
    [InlineData("public.payroll*", "hr.payroll", false)]
    [InlineData("payroll*", "hr.payroll", true)] // unqualified glob: any schema
    [InlineData("public.payroll*", "PUBLIC.Payroll", true)] // case-insensitive
    [InlineData("public.payroll", "public.payrolls", false)]
    [InlineData("*.secret?", "x.secret1", true)]
    [InlineData("db.public.t", "other.public.t", false)]
    public void Relations_match_by_qualified_globs(string glob, string relation, bool matches)
    {
        var rules = RuleSet.Create([new RuleDefinition { Name = "r", Action = PolicyAction.Deny, Relations = [glob] }]);
        var verdict = rules.ForSession(WireProtocol.Postgres, "app", Alice).Evaluate(Request(StatementKind.Select, relations: [relation]));
        Assert.Equal(matches ? PolicyAction.Deny : PolicyAction.Allow, verdict.Action);
    }

    [Fact]
    public void Except_keys_exclude()
    {
        var rules = RuleSet.Create(
        [
            new RuleDefinition { Name = "r1", Action = PolicyAction.Deny, Statements = [StatementKind.Delete], ExceptGroups = ["dba"] },
            new RuleDefinition { Name = "r2", Action = PolicyAction.Deny, Statements = [StatementKind.Update], ExceptSubjects = ["ali*"] },
        ]);
        Assert.Equal(PolicyAction.Allow, rules.ForSession(WireProtocol.Postgres, "app", Dba).Evaluate(Request(StatementKind.Delete)).Action);
        Assert.Equal(PolicyAction.Deny, rules.ForSession(WireProtocol.Postgres, "app", Alice).Evaluate(Request(StatementKind.Delete)).Action);
        Assert.Equal(PolicyAction.Allow, rules.ForSession(WireProtocol.Postgres, "app", Alice).Evaluate(Request(StatementKind.Update)).Action);
        Assert.Equal(PolicyAction.Deny, rules.ForSession(WireProtocol.Postgres, "app", Dba).Evaluate(Request(StatementKind.Update)).Action);
    }

    [Fact]
    public void Protocols_key_limits_a_rule()
    {
        var rules = RuleSet.Create([new RuleDefinition { Name = "r", Action = PolicyAction.Deny, Protocols = [WireProtocol.Ssh] }]);
        Assert.Equal(PolicyAction.Allow, rules.ForSession(WireProtocol.Postgres, "app", Alice).Evaluate(Request(StatementKind.Select)).Action);
        Assert.Equal(PolicyAction.Deny, rules.ForSession(WireProtocol.Ssh, "app", Alice).Evaluate(Request(StatementKind.Select)).Action);
    }

    [Fact]
    public void Pattern_runs_on_normalized_text()
    {
        var rules = RuleSet.Create([new RuleDefinition { Name = "r", Action = PolicyAction.Deny, Pattern = @"\bpg_sleep\b" }]);
        var policy = rules.ForSession(WireProtocol.Postgres, "app", Alice);
        Assert.Equal(PolicyAction.Deny, policy.Evaluate(Request(StatementKind.Select, text: "select pg_sleep(10)")).Action);
        Assert.Equal(PolicyAction.Allow, policy.Evaluate(Request(StatementKind.Select, text: "select pg_sleeping")).Action);
    }

    [Fact]
    public void Functions_key_matches_called_functions()
    {
        var rules = RuleSet.Create([new RuleDefinition { Name = "no-files", Action = PolicyAction.Deny, Functions = ["pg_read_*", "pg_catalog.lo_*"] }]);
        var policy = rules.ForSession(WireProtocol.Postgres, "app", Alice);
        Assert.Equal(PolicyAction.Deny, policy.Evaluate(Request(StatementKind.Select, functions: ["pg_read_file"])).Action);
        Assert.Equal(PolicyAction.Deny, policy.Evaluate(Request(StatementKind.Select, functions: ["lo_export"])).Action);
        Assert.Equal(PolicyAction.Allow, policy.Evaluate(Request(StatementKind.Select, functions: ["now"])).Action);
    }

    [Fact]
    public void Several_reviews_combine_approvers_and_take_the_shortest_timeout()
    {
        var rules = RuleSet.Create(
        [
            new RuleDefinition { Name = "a", Action = PolicyAction.Review, Approvers = ["dba"], Timeout = TimeSpan.FromMinutes(10) },
            new RuleDefinition { Name = "b", Action = PolicyAction.Review, Approvers = ["sec", "dba"], Timeout = TimeSpan.FromMinutes(2) },
        ]);
        var verdict = rules.ForSession(WireProtocol.Postgres, "app", Alice).Evaluate(Request(StatementKind.Select));
        Assert.Equal(PolicyAction.Review, verdict.Action);
        Assert.Equal(["dba", "sec"], verdict.Approvers);
        Assert.Equal(TimeSpan.FromMinutes(2), verdict.Timeout);
        Assert.Equal("a,b", verdict.Rule);
    }

    [Fact]
    public void Default_action_deny_is_overridden_by_allow_rules_only()
    {
        var rules = RuleSet.Create(
            [new RuleDefinition { Name = "reads", Action = PolicyAction.Allow, Statements = [StatementKind.Select] }],
            PolicyAction.Deny);
        var policy = rules.ForSession(WireProtocol.Postgres, "app", Alice);
        var allowed = policy.Evaluate(Request(StatementKind.Select));
        Assert.Equal(PolicyAction.Allow, allowed.Action);
        Assert.Equal("reads", allowed.Rule);
        var denied = policy.Evaluate(Request(StatementKind.Insert));
        Assert.Equal(PolicyAction.Deny, denied.Action);
        Assert.Null(denied.Rule);
        Assert.False(policy.AllowsEverything);
    }

    [Fact]
    public void A_deny_beats_an_allow_rule()
    {
        var rules = RuleSet.Create(
        [
            new RuleDefinition { Name = "all", Action = PolicyAction.Allow },
            new RuleDefinition { Name = "no-drop", Action = PolicyAction.Deny, Statements = [StatementKind.Drop] },
        ]);
        Assert.Equal(PolicyAction.Deny, rules.ForSession(WireProtocol.Postgres, "app", Alice).Evaluate(Request(StatementKind.Drop)).Action);
    }

    [Fact]
    public void Mask_rules_are_collected_per_session()
    {
        var rules = IssueRules();
        var policy = rules.ForSession(WireProtocol.Postgres, "app", Alice);
        Assert.Equal("pii", Assert.Single(policy.MaskRules).Name);
        Assert.True(RuleSet.AllowAll.ForSession(WireProtocol.Postgres, "app", Alice).AllowsEverything);
    }

    [Fact]
    public void Evaluating_allocates_nothing()
    {
        var policy = IssueRules().ForSession(WireProtocol.Postgres, "app", Carol);
        var request = Request(StatementKind.Select, relations: ["public.customers", "orders"], functions: ["now"], text: "select 1");
        for (int i = 0; i < 100; i++)
        {
            policy.Evaluate(request);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            policy.Evaluate(request);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    public static TheoryData<RuleDefinition, string> InvalidRules => new()
    {
        { new RuleDefinition { Name = "r", Action = PolicyAction.Review }, "rules[0].approvers: a review rule needs at least one approver group" },
        { new RuleDefinition { Name = "r", Action = PolicyAction.Mask }, "rules[0]: a mask rule needs columns, fields or detectors" },
        { new RuleDefinition { Name = "r", Action = PolicyAction.Mask, Columns = ["x"], Statements = [StatementKind.Select] }, "rules[0]: a mask rule applies to whole sessions" },
        { new RuleDefinition { Name = "r", Action = PolicyAction.Deny, Approvers = ["x"] }, "rules[0].approvers: only a review rule has this key" },
        { new RuleDefinition { Name = "r", Action = PolicyAction.Allow, Message = "x" }, "rules[0].message: only a deny rule has this key" },
        { new RuleDefinition { Name = "r", Action = PolicyAction.Deny, Pattern = "(" }, "rules[0].pattern: invalid regular expression" },
        { new RuleDefinition { Name = "r", Action = PolicyAction.Deny, Statements = [] }, "rules[0].statements: must not be empty" },
        { new RuleDefinition { Name = "r", Action = PolicyAction.Review, Approvers = ["a"], Timeout = TimeSpan.Zero }, "rules[0].timeout: must be positive" },
    };

    [Theory]
    [MemberData(nameof(InvalidRules))]
    public void Invalid_rules_are_refused_with_the_key(RuleDefinition rule, string message)
    {
        var ex = Assert.Throws<RuleValidationException>(() => RuleSet.Create([rule]));
        Assert.StartsWith(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_names_are_refused()
    {
        var ex = Assert.Throws<RuleValidationException>(() => RuleSet.Create(
        [
            new RuleDefinition { Name = "r", Action = PolicyAction.Deny },
            new RuleDefinition { Name = "r", Action = PolicyAction.Allow },
        ]));
        Assert.Equal("rules[1].name: another rule is already named 'r'", ex.Message);
    }

    [Fact]
    public void Statement_kind_names_round_trip()
    {
        foreach (var kind in Enum.GetValues<StatementKind>())
        {
            Assert.True(StatementKindNames.TryParse(StatementKindNames.Name(kind), out var parsed));
            Assert.Equal(kind, parsed);
        }
        Assert.False(StatementKindNames.TryParse("DROP", out _));
        Assert.Equal("copy-program", StatementKindNames.Name(StatementKind.CopyProgram));
    }
}
