using System.Net;
using System.Text;
using System.Text.Json;
using Wire.Enforcement;
using Wire.Enforcement.Policy;
using Wire.Http.Proxy;

namespace Wire.Http.Tests.Proxy;

/// <summary>Response bodies masked in place on their way to the client: JSON fields and detectors, Kubernetes Secrets, text; what cannot be read is refused.</summary>
public sealed class HttpMaskingTests(UpstreamApp upstream) : IClassFixture<UpstreamApp>
{
    private HttpProxyHarness Start(HttpTargetKind kind = HttpTargetKind.Generic) => HttpProxyHarness.Start(
        [new HttpTargetOptions { Name = "app", Url = upstream.HttpUrl, Kind = kind, CredentialHeader = "Authorization", CredentialValue = "Bearer upstream" }],
        enforcement: new WireEnforcement
        {
            Rules = new RuleSetProvider(RuleSet.Create(
            [
                new RuleDefinition { Name = "passwords", Action = PolicyAction.Mask, Fields = ["$..password"] },
                new RuleDefinition { Name = "pii", Action = PolicyAction.Mask, Detectors = ["email", "ssn"] },
            ])),
        });

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Json_fields_and_detector_hits_are_masked_with_the_length_kept(bool chunked)
    {
        await using var wire = Start();
        using var client = wire.Client();
        using var response = await client.GetAsync($"/json?chunked={(chunked ? 1 : 0)}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(chunked, response.Headers.TransferEncodingChunked ?? false);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(UpstreamApp.SampleJson.Length, body.Length);
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        Assert.Equal("alice", root.GetProperty("user").GetString());
        Assert.Equal(new string('*', "hunter2-very-secret".Length), root.GetProperty("password").GetString());
        Assert.Equal("****", root.GetProperty("tokens")[0].GetProperty("password").GetString());
        Assert.DoesNotContain("alice@example.com", body, StringComparison.Ordinal);
        Assert.DoesNotContain("example.org", root.GetProperty("profile").GetProperty("escaped").GetString(), StringComparison.Ordinal);
        Assert.Equal(3, root.GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task A_postgres_column_rule_does_not_make_http_routes_masked()
    {
        await using var wire = HttpProxyHarness.Start(
            [new HttpTargetOptions { Name = "app", Url = upstream.HttpUrl }],
            enforcement: new WireEnforcement
            {
                Rules = new RuleSetProvider(RuleSet.Create([new RuleDefinition { Name = "ssn", Action = PolicyAction.Mask, Columns = ["*.*.ssn"] }])),
            });
        using var client = wire.Client();
        using var binary = await client.GetAsync("/binary");
        Assert.Equal(HttpStatusCode.OK, binary.StatusCode);
        Assert.Equal([1, 2, 3, 4], await binary.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Wires_own_credential_never_comes_back_through_a_masked_route()
    {
        await using var wire = Start();
        using var client = wire.Client();
        var body = await client.GetStringAsync("/echo/reflect");
        Assert.DoesNotContain("upstream", body, StringComparison.Ordinal);
        Assert.Contains("\"authorization\":\"***************\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_target_is_asked_for_uncompressed_bodies_on_masked_routes()
    {
        await using var wire = Start();
        using var client = wire.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/echo/encoding");
        request.Headers.Add("Accept-Encoding", "gzip, br");
        using var response = await client.SendAsync(request);
        Assert.Equal("identity", EchoReport.Parse(await response.Content.ReadAsStringAsync()).Header("Accept-Encoding"));
    }

    [Fact]
    public async Task Text_bodies_go_through_the_detectors_and_unreadable_bodies_are_refused()
    {
        await using var wire = Start();
        using var client = wire.Client();
        var text = await client.GetStringAsync("/text");
        Assert.Equal("contact ***************** or ***********\n", text);

        using var binary = await client.GetAsync("/binary");
        Assert.Equal(HttpStatusCode.BadGateway, binary.StatusCode);
        using var gzip = await client.GetAsync("/gzip");
        Assert.Equal(HttpStatusCode.BadGateway, gzip.StatusCode);
        // The connection is still good for the next request.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/json")).StatusCode);
    }

    [Fact]
    public async Task Kubernetes_secrets_are_masked_in_objects_lists_and_watch_events()
    {
        await using var wire = Start(HttpTargetKind.Kubernetes);
        using var client = wire.Client();
        string encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes(UpstreamApp.SecretValue));

        void AssertMasked(JsonElement secret)
        {
            var data = secret.GetProperty("data").GetProperty("password").GetString()!;
            Assert.Equal(encoded.Length, data.Length);
            Assert.All(Convert.FromBase64String(data), b => Assert.Equal(0, b)); // still base64: kubectl can decode it
            Assert.Equal(new string('*', UpstreamApp.SecretValue.Length), secret.GetProperty("stringData").GetProperty("plain").GetString());
            var annotations = secret.GetProperty("metadata").GetProperty("annotations");
            Assert.DoesNotContain(encoded, annotations.GetProperty("kubectl.kubernetes.io/last-applied-configuration").GetString(), StringComparison.Ordinal);
            Assert.Equal("db", annotations.GetProperty("team").GetString());
        }

        var one = await client.GetStringAsync("/api/v1/namespaces/default/secrets/one");
        Assert.DoesNotContain(UpstreamApp.SecretValue, one, StringComparison.Ordinal);
        using (var document = JsonDocument.Parse(one))
        {
            AssertMasked(document.RootElement);
        }

        var list = await client.GetStringAsync("/api/v1/namespaces/default/secrets");
        using (var document = JsonDocument.Parse(list))
        {
            Assert.Equal(2, document.RootElement.GetProperty("items").GetArrayLength());
            foreach (var item in document.RootElement.GetProperty("items").EnumerateArray())
            {
                AssertMasked(item);
            }
        }

        var watch = await client.GetStringAsync("/api/v1/namespaces/default/secrets?watch=true");
        var events = watch.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, events.Length);
        foreach (var line in events)
        {
            using var document = JsonDocument.Parse(line);
            AssertMasked(document.RootElement.GetProperty("object"));
        }
        Assert.DoesNotContain(encoded, watch, StringComparison.Ordinal);
    }
}
