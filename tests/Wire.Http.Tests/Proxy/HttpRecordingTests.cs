using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Wire.Enforcement;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Recording;
using Wire.Http.Proxy;

namespace Wire.Http.Tests.Proxy;

/// <summary>HTTP sessions recorded in DESIGN.md §4's format: one file per connection and identity, every request and its result.</summary>
public sealed class HttpRecordingTests(UpstreamApp upstream) : IClassFixture<UpstreamApp>, IDisposable
{
    private static readonly byte[] Key = Encoding.UTF8.GetBytes("an-http-recording-key-of-32-bytes-or-more");
    private readonly string _directory = Directory.CreateTempSubdirectory("wire-http-recordings-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private HttpProxyHarness Start(ISessionRecorderFactory? recorder = null) => HttpProxyHarness.Start(
        [new HttpTargetOptions { Name = "app", Url = upstream.HttpUrl, CredentialHeader = "Authorization", CredentialValue = "Bearer upstream-secret" }],
        enforcement: new WireEnforcement
        {
            Rules = new RuleSetProvider(RuleSet.Create(
            [
                new RuleDefinition { Name = "no-admin", Action = PolicyAction.Deny, Paths = ["/echo/admin*"] },
                new RuleDefinition { Name = "passwords", Action = PolicyAction.Mask, Fields = ["$..password"], Detectors = ["email"] },
            ])),
            Recorder = recorder ?? new FileSessionRecorderFactory(new RecordingOptions { Directory = _directory, Key = Key }, TimeProvider.System,
                NullLoggerFactory.Instance),
        });

    [Fact]
    public async Task Every_request_and_its_result_is_recorded_and_the_file_verifies()
    {
        await using (var wire = Start())
        {
            using var client = wire.Client();
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/echo/one?x=1")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await client.DeleteAsync("/echo/admin/7")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/echo/two", new StringContent("hello"))).StatusCode);
            using var traced = new HttpRequestMessage(HttpMethod.Get, "/json");
            traced.Headers.Add("X-Trace", "trace-42 for alice@example.com");
            traced.Headers.Add("Cookie", "session=cookie-secret");
            traced.Headers.Add("X-Api-Key", "key-secret");
            Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(traced)).StatusCode);
        }

        var file = Assert.Single(Directory.GetFiles(_directory, "*.jsonl"));
        await WaitForEndAsync(file);
        var verification = RecordingVerifier.VerifyFile(file, Key);
        Assert.True(verification.IsValid, verification.Detail);
        var lines = File.ReadAllLines(file);
        Assert.Contains("\"type\":\"session.start\"", lines[0], StringComparison.Ordinal);
        Assert.Contains("\"protocol\":\"http\"", lines[0], StringComparison.Ordinal);
        Assert.Contains("\"subject\":\"alice\"", lines[0], StringComparison.Ordinal);
        string all = string.Join('\n', lines);
        Assert.Contains("\"text\":\"GET /echo/one?x=1\",\"parameters\":null,\"kind\":\"get\",\"verdict\":\"allow\"", all, StringComparison.Ordinal);
        Assert.Contains("\"text\":\"DELETE /echo/admin/7\",\"parameters\":null,\"kind\":\"delete\",\"verdict\":\"deny\",\"rule\":\"no-admin\"", all,
            StringComparison.Ordinal);
        Assert.Contains("\"status\":\"403 Forbidden\"", all, StringComparison.Ordinal);
        Assert.True(all.Contains("\"status\":\"200 OK\"", StringComparison.Ordinal), all);
        Assert.Contains("\"type\":\"http.request\",\"host\":", all, StringComparison.Ordinal);
        Assert.Contains("\"X-Trace: trace-42 for *****************\"", all, StringComparison.Ordinal);
        Assert.Contains("\"Cookie: ***\"", all, StringComparison.Ordinal);
        Assert.Contains("\"X-Api-Key: ***\"", all, StringComparison.Ordinal);
        Assert.Contains("\"type\":\"http.body\",\"contentType\":\"application/json; charset=utf-8\",\"sample\":", all, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", all, StringComparison.Ordinal);
        Assert.DoesNotContain("cookie-secret", all, StringComparison.Ordinal);
        Assert.DoesNotContain("key-secret", all, StringComparison.Ordinal);
        Assert.DoesNotContain("alice@example.com", all, StringComparison.Ordinal);
        Assert.DoesNotContain(HttpProxyHarness.Token, all, StringComparison.Ordinal);
        Assert.DoesNotContain("upstream-secret", all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Another_identity_on_the_same_connection_gets_its_own_recording()
    {
        await using (var wire = Start())
        {
            string answer = await wire.RawAsync(
                $"GET /echo/a HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {HttpProxyHarness.Token}\r\n\r\n"
                + $"GET /echo/b HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {HttpProxyHarness.OtherToken}\r\nConnection: close\r\n\r\n");
            Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(answer, "HTTP/1.1 200 OK"));
        }
        var files = Directory.GetFiles(_directory, "*.jsonl");
        Assert.Equal(2, files.Length);
        foreach (var file in files)
        {
            await WaitForEndAsync(file);
            Assert.True(RecordingVerifier.VerifyFile(file, Key).IsValid);
        }
        var subjects = files.Select(f => File.ReadLines(f).First()).Select(l => l.Contains("\"subject\":\"alice\"", StringComparison.Ordinal) ? "alice" : "bob")
            .Order().ToList();
        Assert.Equal(["alice", "bob"], subjects);
    }

    [Fact]
    public async Task A_recorder_that_cannot_write_refuses_requests_with_503()
    {
        await using var wire = Start(new FileSessionRecorderFactory(
            new RecordingOptions { Directory = "/proc/wire-cannot-write-here", Key = Key }, TimeProvider.System, NullLoggerFactory.Instance));
        using var client = wire.Client();
        using var response = await client.GetAsync("/echo/unrecorded");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("cannot be recorded", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static async Task WaitForEndAsync(string file)
    {
        for (int i = 0; i < 100 && !File.ReadAllText(file).Contains("\"type\":\"session.end\"", StringComparison.Ordinal); i++)
        {
            await Task.Delay(50);
        }
    }
}
