using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Wire.Http.Tests.Proxy;
using Wire.Testing;

namespace Wire.Http.Tests.Gateway;

/// <summary>
/// Just-in-time grants (issue 9) on an HTTP target with <c>requireGrant</c>, with <c>wire run</c> as a real process in
/// front of the Kestrel upstream: without a valid grant a request gets 403 (a problem document that says what to do);
/// once an approver approves it is forwarded; when the requester withdraws the grant, the connection it admitted is
/// closed and the next request gets 403 again.
/// </summary>
public sealed class WireGrantHttpTests(UpstreamApp upstream) : IClassFixture<UpstreamApp>, IDisposable
{
    private const string AliceToken = "tok-alice-dev-h71";
    private const string BobToken = "tok-bob-ops-h52";
    private const string NoGrant = "no valid grant for target \"api\": ask for one (POST /api/grants on the admin API) and wait for its approval";

    private readonly string _directory = Directory.CreateTempSubdirectory("wire-grant-http-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task A_request_needs_a_valid_grant_and_a_revoked_grant_closes_the_connection_it_admitted()
    {
        int port = FreePort();
        int adminPort = FreePort();
        File.WriteAllText(Path.Combine(_directory, "recording.key"), "grant-http-recording-key-0123456789abcdef0123456789\n");
        string config = Path.Combine(_directory, "wire.json");
        File.WriteAllText(config, $$"""
            {
              "identity": { "tokens": [
                { "token": "{{AliceToken}}", "subject": "alice", "groups": ["dev"] },
                { "token": "{{BobToken}}", "subject": "bob", "groups": ["ops"] }
              ] },
              "recording": { "directory": "recordings", "key": "file:recording.key" },
              "admin": { "listen": "127.0.0.1:{{adminPort}}", "groups": ["ops"] },
              "http": {
                "listen": "127.0.0.1:{{port}}",
                "targets": [ { "name": "api", "url": "{{upstream.HttpUrl}}", "requireGrant": true } ]
              },
              "shutdownTimeout": "00:00:05"
            }
            """);
        await using var wire = WireProcess.StartFrom(WireProcess.GatewayBuildOutput(), "run", "--config", config);
        await wire.WaitForAsync("Admin API and approval page listening", TimeSpan.FromSeconds(30));
        await wire.WaitForAsync("Listening for http", TimeSpan.FromSeconds(30));

        using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}"), Timeout = TimeSpan.FromSeconds(30) };
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AliceToken);

        // No grant: 403 with a problem document that says what to do.
        await AssertRefusedAsync(client);

        var requested = await AdminApi.SendAsync(admin, HttpMethod.Post, "/api/grants", AliceToken, new { target = "api", duration = "00:05:00", reason = "incident 12" });
        Assert.Equal(HttpStatusCode.Created, requested.StatusCode);
        var grant = await requested.Content.ReadFromJsonAsync<JsonElement>();
        string id = grant.GetProperty("id").GetString()!;
        Assert.Equal("pending", grant.GetProperty("status").GetString());
        Assert.Equal("api", grant.GetProperty("target").GetString());
        await AssertRefusedAsync(client);

        var approved = await AdminApi.SendAsync(admin, HttpMethod.Post, $"/api/grants/{id}/approve", BobToken);
        Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
        Assert.Equal("active", (await approved.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());

        using (var response = await client.GetAsync("/echo/granted"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var seen = EchoReport.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("/echo/granted", seen.Path);
            Assert.Null(seen.Header("Authorization"));
        }

        // A keep-alive connection the grant admitted, held open while the grant is withdrawn.
        using var held = new TcpClient();
        await held.ConnectAsync(IPAddress.Loopback, port);
        var stream = held.GetStream();
        stream.ReadTimeout = 15_000;
        string first = await ExchangeAsync(stream, port);
        Assert.StartsWith("HTTP/1.1 200 ", first, StringComparison.Ordinal);

        var withdrawn = await AdminApi.SendAsync(admin, HttpMethod.Delete, "/api/grants/" + id, AliceToken);
        Assert.Equal(HttpStatusCode.OK, withdrawn.StatusCode);
        grant = await withdrawn.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("revoked", grant.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.String, grant.GetProperty("endedAt").ValueKind);

        // The held connection is closed by Wire (end of stream, or a reset), without another request.
        using (var closing = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            int read;
            try
            {
                read = await stream.ReadAsync(new byte[256], closing.Token);
            }
            catch (IOException)
            {
                read = 0;
            }
            catch (OperationCanceledException)
            {
                read = -1;
            }
            Assert.True(read == 0, read < 0 ? "the connection the revoked grant admitted stayed open" : $"{read} bytes after the grant was revoked");
        }

        await AssertRefusedAsync(client);
        Assert.Equal(HttpStatusCode.Conflict, (await AdminApi.SendAsync(admin, HttpMethod.Delete, "/api/grants/" + id, AliceToken)).StatusCode);

        // The grant's recording: requested, approved, revoked (by alice), then its end.
        string recording = grant.GetProperty("recording").GetString()!;
        var records = await WaitForOkRecordingAsync(admin, recording);
        Assert.Equal(["session.start", "grant.requested", "grant.approved", "grant.revoked", "session.end"],
            records.Select(r => r.GetProperty("type").GetString()));
        Assert.Equal("alice", records[3].GetProperty("by").GetString());
    }

    private static async Task AssertRefusedAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/echo/refused");
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Forbidden, $"{(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(body);
        Assert.Equal(403, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal(NoGrant, problem.RootElement.GetProperty("detail").GetString());
    }

    /// <summary>One GET on a raw keep-alive connection; the response head and body (Content-Length or chunked).</summary>
    private static async Task<string> ExchangeAsync(NetworkStream stream, int port)
    {
        byte[] request = Encoding.ASCII.GetBytes(
            $"GET /echo/held HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {AliceToken}\r\n\r\n");
        await stream.WriteAsync(request);
        var received = new MemoryStream();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (true)
        {
            int n = await stream.ReadAsync(buffer, timeout.Token);
            Assert.True(n > 0, "the connection closed before the response: " + Encoding.ASCII.GetString(received.ToArray()));
            received.Write(buffer, 0, n);
            string text = Encoding.ASCII.GetString(received.ToArray());
            int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end < 0)
            {
                continue;
            }
            var fields = text[..end].Split("\r\n").Skip(1).Select(l => l.Split(':', 2)).ToDictionary(f => f[0].ToLowerInvariant(), f => f[1].Trim());
            if (fields.TryGetValue("content-length", out var length)
                ? received.Length >= end + 4 + int.Parse(length, System.Globalization.CultureInfo.InvariantCulture)
                : fields.GetValueOrDefault("transfer-encoding") == "chunked" && text.EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal))
            {
                return text;
            }
        }
    }

    private static async Task<List<JsonElement>> WaitForOkRecordingAsync(HttpClient admin, string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            var response = await AdminApi.SendAsync(admin, HttpMethod.Get, "/api/recordings/" + id, BobToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var document = await response.Content.ReadFromJsonAsync<JsonElement>();
            if (document.GetProperty("status").GetString() == "ok")
            {
                return [.. document.GetProperty("records").EnumerateArray()];
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"recording {id} never verified: {document}");
            }
            await Task.Delay(100);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
