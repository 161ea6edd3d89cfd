using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;

namespace Wire.Enforcement.Tests.Policy;

/// <summary>The HTTP rule keys: each set key needs its fact, and facts of one protocol never satisfy keys of another.</summary>
public sealed class HttpRuleTests
{
    private static readonly WireIdentity Alice = new("alice", ["eng"], "static-token");

    private static readonly RuleSet Rules = RuleSet.Create(
    [
        new RuleDefinition { Name = "no-admin", Action = PolicyAction.Deny, Methods = ["delete"], Hosts = ["*.internal"], Paths = ["/admin/*"] },
        new RuleDefinition { Name = "core-secrets", Action = PolicyAction.Deny, ApiGroups = ["core"], Resources = ["secrets"], Verbs = ["get", "list"] },
        new RuleDefinition { Name = "prod-exec", Action = PolicyAction.Review, Subresources = ["exec"], Namespaces = ["prod-*"], Approvers = ["sre"] },
        new RuleDefinition { Name = "no-drop", Action = PolicyAction.Deny, Statements = [StatementKind.Drop] },
        new RuleDefinition { Name = "no-rm", Action = PolicyAction.Deny, Pattern = "rm -rf" },
    ]);

    private static Verdict Judge(HttpAccess access, string? text = null) =>
        Rules.ForSession(WireProtocol.Http, "t", Alice).Evaluate(AccessRequest.ForHttp(access, text ?? $"{access.Method} {access.Path}"));

    [Fact]
    public void Method_host_and_path_keys_all_have_to_match()
    {
        Assert.Equal("no-admin", Judge(new HttpAccess("DELETE", "api.internal", "/admin/users/1")).Rule);
        Assert.Equal(PolicyAction.Allow, Judge(new HttpAccess("GET", "api.internal", "/admin/users/1")).Action);
        Assert.Equal(PolicyAction.Allow, Judge(new HttpAccess("DELETE", "api.example.com", "/admin/users/1")).Action);
        Assert.Equal(PolicyAction.Allow, Judge(new HttpAccess("DELETE", "api.internal", "/public/x")).Action);
    }

    [Fact]
    public void Kubernetes_keys_need_kubernetes_facts()
    {
        var secrets = new HttpAccess("GET", "kube", "/api/v1/namespaces/a/secrets") { Verb = "list", ApiGroup = "", Resource = "secrets", Namespace = "a" };
        Assert.Equal("core-secrets", Judge(secrets).Rule);
        Assert.Equal(PolicyAction.Allow, Judge(secrets with { ApiGroup = "example.com" }).Action);
        Assert.Equal(PolicyAction.Allow, Judge(secrets with { Verb = "watch" }).Action);
        // A generic target has no verb: a rule with Kubernetes keys never matches it.
        Assert.Equal(PolicyAction.Allow, Judge(new HttpAccess("GET", "kube", "/api/v1/namespaces/a/secrets")).Action);

        var exec = new HttpAccess("POST", "kube", "/x") { Verb = "create", ApiGroup = "", Resource = "pods", Subresource = "exec", Namespace = "prod-eu" };
        Assert.Equal(PolicyAction.Review, Judge(exec).Action);
        Assert.Equal(PolicyAction.Allow, Judge(exec with { Namespace = "dev" }).Action);
        Assert.Equal(PolicyAction.Allow, Judge(exec with { Namespace = null }).Action);
    }

    [Fact]
    public void Statement_keys_never_match_http_and_http_keys_never_match_sql()
    {
        Assert.Equal(PolicyAction.Allow, Judge(new HttpAccess("POST", "h", "/drop")).Action);
        Assert.Equal("no-rm", Judge(new HttpAccess("POST", "h", "/exec"), "POST /exec command: rm -rf /").Rule);

        var sql = Rules.ForSession(WireProtocol.Postgres, "t", Alice);
        Assert.Equal(PolicyAction.Allow, sql.Evaluate(new AccessRequest(StatementKindSet.Of(StatementKind.Delete), false, [], [], "delete from admin")).Action);
        Assert.Equal("no-drop", sql.Evaluate(new AccessRequest(StatementKindSet.Of(StatementKind.Drop), false, [], [], "drop table t")).Rule);
    }

    [Theory]
    [InlineData("verbs", "destroy")]
    [InlineData("paths", "admin/*")]
    public void Invalid_http_keys_are_refused(string key, string value)
    {
        var rule = key == "verbs"
            ? new RuleDefinition { Name = "r", Action = PolicyAction.Deny, Verbs = [value] }
            : new RuleDefinition { Name = "r", Action = PolicyAction.Deny, Paths = [value] };
        var e = Assert.Throws<RuleValidationException>(() => RuleSet.Create([rule]));
        Assert.Contains(key, e.Message, StringComparison.Ordinal);
        Assert.Throws<RuleValidationException>(() => RuleSet.Create([new RuleDefinition { Name = "m", Action = PolicyAction.Deny, Methods = [] }]));
        Assert.Throws<RuleValidationException>(() =>
            RuleSet.Create([new RuleDefinition { Name = "m", Action = PolicyAction.Mask, Detectors = ["email"], Paths = ["/x"] }]));
    }
}
