using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;
using Wire.Hosting.Configuration;
using static Wire.Gateway.Tests.Configuration.GatewayConfigTests;

namespace Wire.Gateway.Tests.Configuration;

public sealed class GatewayConfigRulesTests : IDisposable
{
    private readonly TempConfigDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private GatewayConfig Parse(string json) => GatewayConfig.Parse(Json(json), _dir.Path, Env);

    [Fact]
    public void The_issue_example_rules_load_and_decide()
    {
        var config = Parse("""
            { 'rules': [
                { 'name': 'no-drop', 'action': 'deny', 'statements': ['drop', 'truncate'], 'message': 'not in prod' },
                { 'name': 'unbounded-dml', 'action': 'review', 'statements': ['delete', 'update'], 'noWhere': true,
                  'approvers': ['dba'], 'timeout': '00:05:00' },
                { 'name': 'pii', 'action': 'mask', 'columns': ['public.customers.email', '*.*.ssn'],
                  'detectors': ['email', 'ssn', 'card'], 'detectorScope': 'expressions', 'style': 'full' },
                { 'name': 'ops-only', 'action': 'deny', 'targets': ['app'], 'groups': ['contractors'],
                  'relations': ['public.payroll*'] }
              ],
              'policy': { 'defaultAction': 'allow' } }
            """);
        Assert.True(config.EnforcementEnabled);
        Assert.Equal(4, config.Rules.Rules.Count());
        var contractor = config.Rules.ForSession(WireProtocol.Postgres, "app", new WireIdentity("c", ["contractors"], "static-token"));
        var payroll = new AccessRequest(StatementKindSet.Of(StatementKind.Select), false, ["payroll_2025"], [], "select * from payroll_2025");
        Assert.Equal("ops-only", contractor.Evaluate(payroll).Rule);
        var review = contractor.Evaluate(new AccessRequest(StatementKindSet.Of(StatementKind.Delete), true, ["orders"], [], "delete from orders"));
        Assert.Equal(PolicyAction.Review, review.Action);
        Assert.Equal(TimeSpan.FromMinutes(5), review.Timeout);
        Assert.Equal("pii", Assert.Single(contractor.MaskRules).Name);
    }

    [Fact]
    public void Without_rules_sessions_are_not_inspected()
    {
        var config = Parse("{ 'logging': { 'level': 'debug' } }");
        Assert.False(config.EnforcementEnabled);
        Assert.Same(RuleSet.AllowAll, config.Rules);
        Assert.True(Parse("{ 'rules': [] }").EnforcementEnabled);
        Assert.Equal(PolicyAction.Deny, Parse("{ 'policy': { 'defaultAction': 'deny' } }").Rules.DefaultAction);
    }

    [Fact]
    public void Rules_and_policy_do_not_require_a_restart()
    {
        Assert.Equal(Parse("{ 'rules': [] }").RestartFingerprint, Parse("{ 'rules': [ { 'name': 'a', 'action': 'deny' } ], 'policy': { 'defaultAction': 'deny' } }").RestartFingerprint);
    }

    [Theory]
    [InlineData("{ 'rules': [ { 'action': 'deny' } ] }", "rules[0].name: required")]
    [InlineData("{ 'rules': [ { 'name': 'a' } ] }", "rules[0].action: required")]
    [InlineData("{ 'rules': [ { 'name': 'a', 'action': 'block' } ] }", "rules[0].action: must be one of allow, deny, review, mask")]
    [InlineData("{ 'rules': [ { 'name': 'a', 'action': 'deny', 'statement': ['drop'] } ] }", "rules[0].statement: unknown key")]
    [InlineData("{ 'rules': [ { 'name': 'a', 'action': 'deny', 'statements': ['drop', 'DROP'] } ] }", "rules[0].statements[1]: must be one of other, select,")]
    [InlineData("{ 'rules': [ { 'name': 'a', 'action': 'deny', 'protocols': ['mysql'] } ] }", "rules[0].protocols[0]: must be one of postgres, ssh, http")]
    [InlineData("{ 'rules': [ { 'name': 'a', 'action': 'deny', 'noWhere': 'yes' } ] }", "rules[0].noWhere: must be true or false")]
    [InlineData("{ 'rules': [ { 'name': 'a', 'action': 'deny', 'pattern': '[' } ] }", "rules[0].pattern: invalid regular expression")]
    [InlineData("{ 'rules': [ { 'name': 'a', 'action': 'review' } ] }", "rules[0].approvers: a review rule needs at least one approver group")]
    [InlineData("{ 'rules': [ { 'name': 'a', 'action': 'review', 'approvers': ['dba'], 'timeout': '5m' } ] }", "rules[0].timeout:")]
    [InlineData("{ 'rules': [ { 'name': 'a', 'action': 'mask', 'columns': ['x'], 'statements': ['select'] } ] }", "rules[0]: a mask rule applies to whole sessions")]
    [InlineData("{ 'rules': [ { 'name': 'a', 'action': 'deny' }, { 'name': 'a', 'action': 'allow' } ] }", "rules[1].name: another rule is already named 'a'")]
    [InlineData("{ 'rules': [ { 'name': 'a', 'action': 'mask', 'columns': ['x'], 'detectorScope': 'some' } ] }", "rules[0].detectorScope: must be one of expressions, all")]
    [InlineData("{ 'policy': { 'defaultAction': 'review' } }", "policy.defaultAction: must be one of allow, deny")]
    [InlineData("{ 'rules': [ { 'name': 'a', 'action': 'mask', 'detectors': ['email', 'passport'] } ] }", "rules[0].detectors[1]: must be one of card, ssn, email")]
    [InlineData("{ 'rules': [ { 'name': 'a', 'action': 'mask', 'columns': ['x'], 'style': 'blur' } ] }", "rules[0].style: must be one of partial, email, digits, full")]
    [InlineData("{ 'policy': { 'default': 'deny' } }", "policy.default: unknown key")]
    [InlineData("{ 'rules': [ { 'name': 'a', 'action': 'deny', 'channels': ['exec', 'ftp'] } ] }", "rules[0].channels[1]: must be one of exec, shell, subsystem")]
    [InlineData("{ 'rules': [ { 'name': 'a', 'action': 'deny', 'commands': [] } ] }", "rules[0].commands: must not be empty")]
    [InlineData("{ 'rules': [ { 'name': 'a', 'action': 'mask', 'detectors': ['pem'], 'forwards': ['*:22'] } ] }", "rules[0]: a mask rule applies to whole sessions")]
    [InlineData("{ 'rules': [ { 'name': 'a', 'action': 'mask', 'columns': ['x'], 'expressions': 'drop' } ] }", "rules[0].expressions: must be one of mask, refuse")]
    [InlineData("{ 'rules': [ { 'name': 'a', 'action': 'deny', 'expressions': 'refuse' } ] }", "rules[0].expressions: only a mask rule has this key")]
    [InlineData("{ 'rules': { 'name': 'a' } }", "rules: must be an array")]
    public void Invalid_rules_name_the_key(string json, string expected)
    {
        var e = Assert.Throws<ConfigException>(() => Parse(json));
        Assert.StartsWith(expected, e.Message, StringComparison.Ordinal);
    }
}
