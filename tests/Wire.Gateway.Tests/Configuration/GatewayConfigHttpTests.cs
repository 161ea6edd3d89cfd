using System.Net;
using Wire.Hosting.Configuration;
using Wire.Http.Proxy;

namespace Wire.Gateway.Tests.Configuration;

public sealed class GatewayConfigHttpTests : IDisposable
{
    private readonly TempConfigDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string? Env(string name) => name == "KUBE_TOKEN" ? "kube-secret" : GatewayConfigTests.Env(name);

    private GatewayConfig Parse(string json) => GatewayConfig.Parse(GatewayConfigTests.Json(json), _dir.Path, Env);

    private ConfigException Fail(string json) => Assert.Throws<ConfigException>(() => Parse(json));

    [Fact]
    public void A_full_http_section_loads()
    {
        var config = Parse("""
            {
              'http': {
                'listen': '127.0.0.1:8443',
                'limits': { 'maxHeadBytes': 16384, 'maxHeaderCount': 50, 'maxChunkLineBytes': 512, 'maxDrainBytes': 1024,
                            'headTimeout': '00:00:10', 'connectTimeout': '00:00:03',
                            'responseTimeout': '00:02:00' },
                'targets': [
                  { 'name': 'kube', 'url': 'https://10.0.0.1:6443', 'kind': 'kubernetes', 'hosts': ['kube.internal', '*.kube.internal'],
                    'credential': { 'value': 'env:KUBE_TOKEN' }, 'impersonate': true },
                  { 'name': 'grafana', 'url': 'http://127.0.0.1:3000/base', 'pathPrefix': '/grafana', 'stripPrefix': false,
                    'credential': { 'header': 'X-Api-Key', 'value': 'plain' }, 'allowSpdy': true }
                ]
              }
            }
            """);

        var http = config.Http!;
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 8443), http.Listen);
        Assert.Equal((16384, 50, 512, 1024L), (http.Limits.MaxHeadBytes, http.Limits.MaxHeaderCount, http.Limits.MaxChunkLineBytes, http.Limits.MaxDrainBytes));
        Assert.Equal((TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(3)), (http.HeadTimeout, http.ConnectTimeout));
        Assert.Equal(TimeSpan.FromMinutes(2), http.ResponseTimeout);
        var kube = http.Targets[0];
        Assert.Equal((HttpTargetKind.Kubernetes, "Authorization", "kube-secret", true), (kube.Kind, kube.CredentialHeader, kube.CredentialValue, kube.Impersonate));
        Assert.Equal(["kube.internal", "*.kube.internal"], kube.Hosts);
        var grafana = http.Targets[1];
        Assert.Equal(("/grafana", false, "X-Api-Key", "plain", true), (grafana.PathPrefix, grafana.StripPrefix, grafana.CredentialHeader, grafana.CredentialValue, grafana.AllowSpdy));
        Assert.Equal(HttpTargetKind.Generic, grafana.Kind);
    }

    [Theory]
    [InlineData("{ 'http': { 'targets': [] } }", "http.targets")]
    [InlineData("{ 'http': { 'targets': [ { 'name': 'a' } ] } }", "http.targets[0].url")]
    [InlineData("{ 'http': { 'targets': [ { 'name': 'a', 'url': 'ftp://x' } ] } }", "http.targets[0].url")]
    [InlineData("{ 'http': { 'targets': [ { 'name': 'a', 'url': 'http://x/?q=1' } ] } }", "http.targets[0].url")]
    [InlineData("{ 'http': { 'targets': [ { 'name': 'a', 'url': 'http://u:p@x/' } ] } }", "http.targets[0].url")]
    [InlineData("{ 'http': { 'targets': [ { 'name': 'a', 'url': 'http://x', 'kind': 'ssh' } ] } }", "http.targets[0].kind")]
    [InlineData("{ 'http': { 'targets': [ { 'name': 'a', 'url': 'http://x', 'pathPrefix': 'api' } ] } }", "http.targets[0].pathPrefix")]
    [InlineData("{ 'http': { 'targets': [ { 'name': 'a', 'url': 'http://x', 'hosts': ['a b'] } ] } }", "http.targets[0].hosts")]
    [InlineData("{ 'http': { 'targets': [ { 'name': 'a', 'url': 'http://x', 'credential': { 'header': 'X' } } ] } }", "http.targets[0].credential.value")]
    [InlineData("{ 'http': { 'targets': [ { 'name': 'a', 'url': 'http://x', 'credential': { 'header': 'A B', 'value': 'v' } } ] } }", "http.targets[0].credential.header")]
    [InlineData("{ 'http': { 'targets': [ { 'name': 'a', 'url': 'http://x', 'extra': 1 } ] } }", "http.targets[0].extra")]
    [InlineData("{ 'http': { 'targets': [ { 'name': 'a', 'url': 'http://x' }, { 'name': 'a', 'url': 'http://y' } ] } }", "http.targets[1].name")]
    [InlineData("{ 'http': { 'limits': { 'maxHeadBytes': 10 }, 'targets': [ { 'name': 'a', 'url': 'http://x' } ] } }", "http.limits.maxHeadBytes")]
    [InlineData("{ 'rules': [ { 'name': 'm', 'action': 'mask', 'fields': ['password'] } ] }", "rules[0].fields[0]")]
    [InlineData("{ 'rules': [ { 'name': 'd', 'action': 'deny', 'fields': ['$.password'] } ] }", "rules[0].fields")]
    [InlineData("{ 'rules': [ { 'name': 'd', 'action': 'deny', 'verbs': ['destroy'] } ] }", "rules[0].verbs")]
    [InlineData("{ 'rules': [ { 'name': 'd', 'action': 'deny', 'paths': ['admin'] } ] }", "rules[0].paths")]
    [InlineData("{ 'rules': [ { 'name': 'd', 'action': 'deny', 'methods': [] } ] }", "rules[0].methods")]
    [InlineData("{ 'rules': [ { 'name': 'm', 'action': 'mask', 'detectors': ['email'], 'paths': ['/x'] } ] }", "rules[0]")]
    public void Invalid_http_settings_name_their_key(string json, string key) =>
        Assert.StartsWith(key + ":", Fail(json).Message, StringComparison.Ordinal);

    [Fact]
    public void Http_rule_keys_and_json_field_masks_load()
    {
        var config = Parse("""
            {
              'rules': [
                { 'name': 'no-secrets', 'action': 'deny', 'verbs': ['get', 'list', 'watch'], 'apiGroups': ['core'], 'resources': ['secrets'],
                  'namespaces': ['prod-*'], 'names': ['db-*'] },
                { 'name': 'exec-review', 'action': 'review', 'subresources': ['exec'], 'approvers': ['sre'] },
                { 'name': 'no-admin', 'action': 'deny', 'methods': ['DELETE', 'put'], 'hosts': ['*.internal'], 'paths': ['/admin/*'] },
                { 'name': 'pii', 'action': 'mask', 'protocols': ['postgres'], 'detectors': ['email'] },
                { 'name': 'passwords', 'action': 'mask', 'fields': ['$..password', "$.items[*].data.*"] }
              ],
              'http': { 'targets': [ { 'name': 'kube', 'url': 'https://10.0.0.1:6443', 'kind': 'kubernetes' } ] }
            }
            """);
        var rules = config.Rules.Rules.ToList();
        Assert.Equal(["core"], rules[0].ApiGroups);
        Assert.Equal(["prod-*"], rules[0].Namespaces);
        Assert.Equal(["exec"], rules[1].Subresources);
        Assert.Equal(["DELETE", "put"], rules[2].Methods);
        Assert.Equal(["/admin/*"], rules[2].Paths);
        Assert.Equal(["$..password", "$.items[*].data.*"], rules[4].Fields);
        Assert.NotNull(config.Http);
    }
}
