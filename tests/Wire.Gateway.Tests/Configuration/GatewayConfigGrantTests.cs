using Wire.Hosting.Configuration;

namespace Wire.Gateway.Tests.Configuration;

/// <summary>The config of just-in-time grants: <c>requireGrant</c> on targets and rules, and the <c>grants</c> section.</summary>
public sealed class GatewayConfigGrantTests : IDisposable
{
    private readonly TempConfigDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private GatewayConfig Parse(string json) => GatewayConfig.Parse(GatewayConfigTests.Json(json), _dir.Path, GatewayConfigTests.Env);

    private ConfigException Fail(string json) => Assert.Throws<ConfigException>(() => Parse(json));

    [Fact]
    public void Targets_and_rules_that_require_a_grant_load_with_the_admin_section()
    {
        var config = Parse("""
            {
              'admin': { 'groups': ['ops'] },
              'postgres': { 'listen': '127.0.0.1:0', 'targets': [ { 'name': 'prod', 'host': 'db', 'username': 'u', 'requireGrant': true },
                                                                   { 'name': 'dev', 'host': 'db', 'username': 'u' } ] },
              'http': { 'targets': [ { 'name': 'api', 'url': 'http://127.0.0.1:9', 'requireGrant': true } ] },
              'rules': [ { 'name': 'writes', 'action': 'allow', 'statements': ['delete'], 'requireGrant': true } ]
            }
            """);
        Assert.True(config.Postgres!.Targets[0].RequireGrant);
        Assert.False(config.Postgres.Targets[1].RequireGrant);
        Assert.True(config.Http!.Targets[0].RequireGrant);
        Assert.True(config.Rules.Rules.Single().RequireGrant);
        // Approvers default to the admin groups, the longest grant to 8 hours.
        Assert.Equal(["ops"], config.Grants.Approvers);
        Assert.Equal(TimeSpan.FromHours(8), config.Grants.MaxDuration);
    }

    [Fact]
    public void The_grants_section_sets_approvers_and_the_longest_grant()
    {
        var config = Parse("{ 'admin': {}, 'grants': { 'approvers': ['dba', 'sre'], 'maxDuration': '02:30:00' } }");
        Assert.Equal(["dba", "sre"], config.Grants.Approvers);
        Assert.Equal(TimeSpan.FromMinutes(150), config.Grants.MaxDuration);
    }

    [Theory]
    [InlineData("{ 'postgres': { 'targets': [ { 'name': 'p', 'host': 'db', 'username': 'u', 'requireGrant': true } ] } }", "postgres.targets[0].requireGrant")]
    [InlineData("{ 'http': { 'targets': [ { 'name': 'a', 'url': 'http://x', 'requireGrant': true } ] } }", "http.targets[0].requireGrant")]
    [InlineData("{ 'rules': [ { 'name': 'a', 'action': 'allow' }, { 'name': 'r', 'action': 'allow', 'requireGrant': true } ] }", "rules[1].requireGrant")]
    [InlineData("{ 'grants': { 'approvers': ['ops'] } }", "grants")]
    [InlineData("{ 'admin': {}, 'grants': { 'approvers': [] } }", "grants.approvers")]
    [InlineData("{ 'admin': {}, 'grants': { 'maxDuration': '00:00:00' } }", "grants.maxDuration")]
    [InlineData("{ 'admin': {}, 'grants': { 'who': ['ops'] } }", "grants.who")]
    [InlineData("{ 'admin': {}, 'rules': [ { 'name': 'd', 'action': 'deny', 'requireGrant': true } ] }", "rules[0].requireGrant")]
    [InlineData("{ 'admin': {}, 'postgres': { 'targets': [ { 'name': 'p', 'host': 'db', 'username': 'u', 'requireGrant': 'yes' } ] } }", "postgres.targets[0].requireGrant")]
    public void Invalid_grant_settings_name_their_key(string json, string key) =>
        Assert.StartsWith(key + ":", Fail(json).Message, StringComparison.Ordinal);
}
