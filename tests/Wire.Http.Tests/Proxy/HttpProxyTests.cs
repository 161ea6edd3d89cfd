using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Wire.Http.Proxy;

namespace Wire.Http.Tests.Proxy;

/// <summary>Wire's HTTP proxy between real clients (HttpClient, curl, ClientWebSocket, raw sockets) and a real Kestrel upstream.</summary>
public sealed class HttpProxyTests(UpstreamApp upstream) : IClassFixture<UpstreamApp>
{
    private HttpTargetOptions Target(string name = "app", string? pathPrefix = null, IReadOnlyList<string>? hosts = null, bool https = false,
        bool impersonate = false, string path = "") => new()
    {
        Name = name,
        Url = new Uri((https ? upstream.HttpsUrl : upstream.HttpUrl), path),
        PathPrefix = pathPrefix,
        Hosts = hosts ?? [],
        CredentialHeader = "Authorization",
        CredentialValue = "Bearer upstream-secret-" + name,
        TrustedCertificates = https ? [Wire.Testing.TestCertificates.Shared.Certificate] : null,
        Impersonate = impersonate,
    };

    [Fact]
    public async Task A_request_reaches_the_target_with_wires_credential_instead_of_the_clients_token()
    {
        await using var wire = HttpProxyHarness.Start([Target()]);
        using var client = wire.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/echo/a/b?x=1&y=%20");
        request.Headers.Add("X-Forwarded-For", "6.6.6.6");
        request.Headers.Add("Forwarded", "for=6.6.6.6");
        request.Headers.Add("Impersonate-User", "admin");
        request.Headers.Add("Impersonate-Group", "system:masters");
        request.Headers.Add("Proxy-Authorization", "Basic c2VjcmV0");
        request.Headers.Add("Connection", "X-Hop");
        request.Headers.Add("X-Hop", "hop-by-hop");
        request.Headers.Add("X-Kept", "end-to-end");

        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = EchoReport.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal("GET", seen.Method);
        Assert.Equal("/echo/a/b", seen.Path);
        Assert.Equal("?x=1&y=%20", seen.Query);
        Assert.Equal("Bearer upstream-secret-app", seen.Header("Authorization"));
        Assert.Equal($"{upstream.HttpUrl.Host}:{upstream.HttpUrl.Port}", seen.Header("Host"));
        Assert.Equal("127.0.0.1", seen.Header("X-Forwarded-For"));
        Assert.Equal("http", seen.Header("X-Forwarded-Proto"));
        Assert.Equal($"127.0.0.1:{wire.Port}", seen.Header("X-Forwarded-Host"));
        Assert.Equal("end-to-end", seen.Header("X-Kept"));
        foreach (var dropped in new[] { "Forwarded", "Impersonate-User", "Impersonate-Group", "Proxy-Authorization", "X-Hop" })
        {
            Assert.Null(seen.Header(dropped));
        }
        Assert.DoesNotContain(HttpProxyHarness.Token, string.Join(' ', seen.Headers.Values), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_or_wrong_tokens_get_401_and_the_connection_stays_usable()
    {
        await using var wire = HttpProxyHarness.Start([Target()]);
        string answer = await wire.RawAsync(
            "GET /echo/1 HTTP/1.1\r\nHost: a\r\n\r\n"
            + "POST /echo/2 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer wrong\r\nContent-Length: 5\r\n\r\nhello"
            + $"GET /echo/3 HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {HttpProxyHarness.Token}\r\nConnection: close\r\n\r\n");

        Assert.Equal(["401", "401", "200"], Statuses(answer));
        Assert.Contains("WWW-Authenticate: Bearer realm=\"wire\"", answer, StringComparison.Ordinal);
        Assert.Contains("application/problem+json", answer, StringComparison.Ordinal);
        Assert.Contains("\"path\":\"/echo/3\"", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_removed_by_a_reload_stops_working_on_an_open_connection()
    {
        var tokens = new Wire.Enforcement.Identity.ReloadableIdentityValidator(
            new Wire.Enforcement.Identity.StaticTokenValidator([new Wire.Enforcement.Identity.StaticToken(HttpProxyHarness.Token, "alice", [])]));
        await using var wire = HttpProxyHarness.Start([Target()], validator: tokens);
        using var client = wire.Client(handler: new SocketsHttpHandler { MaxConnectionsPerServer = 1 });
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/echo/1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/echo/2")).StatusCode);
        tokens.Swap(new Wire.Enforcement.Identity.StaticTokenValidator([new Wire.Enforcement.Identity.StaticToken("another-token", "bob", [])]));
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/echo/3")).StatusCode);
    }

    [Fact]
    public async Task Bodies_stream_both_ways_with_content_length_and_chunked()
    {
        await using var wire = HttpProxyHarness.Start([Target()]);
        using var client = wire.Client();
        var payload = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 17);

        using var fixedResponse = await client.PostAsync("/echo/fixed", new ByteArrayContent(payload));
        Assert.Equal(payload, EchoReport.Parse(await fixedResponse.Content.ReadAsStringAsync()).BodyBytes);

        using var streamed = new StreamContent(new MemoryStream(payload));
        using var chunkedRequest = new HttpRequestMessage(HttpMethod.Put, "/echo/chunked") { Content = streamed };
        chunkedRequest.Headers.TransferEncodingChunked = true;
        using var chunkedResponse = await client.SendAsync(chunkedRequest);
        var seen = EchoReport.Parse(await chunkedResponse.Content.ReadAsStringAsync());
        Assert.Equal("chunked", seen.Header("Transfer-Encoding"));
        Assert.Equal(payload, seen.BodyBytes);

        foreach (bool chunked in new[] { false, true })
        {
            using var big = await client.GetAsync($"/big?size={32 * 1024 * 1024 + 5}&chunked={(chunked ? 1 : 0)}", HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(chunked, big.Headers.TransferEncodingChunked ?? false);
            using var stream = await big.Content.ReadAsStreamAsync();
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[64 * 1024];
            long total = 0;
            for (int n; (n = await stream.ReadAsync(buffer)) > 0; total += n)
            {
                hash.AppendData(buffer, 0, n);
            }
            Assert.Equal(32 * 1024 * 1024 + 5, total);
        }
    }

    [Fact]
    public async Task Pipelined_requests_are_answered_in_order_on_one_connection()
    {
        await using var wire = HttpProxyHarness.Start([Target()]);
        var requests = new StringBuilder();
        for (int i = 0; i < 5; i++)
        {
            requests.Append(CultureInfo($"GET /echo/{i} HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {HttpProxyHarness.Token}\r\n"));
            requests.Append(i == 4 ? "Connection: close\r\n\r\n" : "\r\n");
        }
        string answer = await wire.RawAsync(requests.ToString());
        var paths = System.Text.RegularExpressions.Regex.Matches(answer, "\"path\":\"(/echo/\\d)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["/echo/0", "/echo/1", "/echo/2", "/echo/3", "/echo/4"], paths);
    }

    /// <summary>The status codes of the responses in a raw answer (bodies of these tests never contain a status line).</summary>
    private static List<string> Statuses(string answer) =>
        [.. System.Text.RegularExpressions.Regex.Matches(answer, "HTTP/1\\.1 (\\d{3}) ").Select(m => m.Groups[1].Value)];

    private static string CultureInfo(FormattableString text) => text.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task Bodiless_responses_keep_the_connection_in_step()
    {
        await using var wire = HttpProxyHarness.Start([Target()]);
        string auth = $"Authorization: Bearer {HttpProxyHarness.Token}\r\n";
        string answer = await wire.RawAsync(
            $"HEAD /big?size=100 HTTP/1.1\r\nHost: a\r\n{auth}\r\n"
            + $"GET /status/204 HTTP/1.1\r\nHost: a\r\n{auth}\r\n"
            + $"GET /status/304 HTTP/1.1\r\nHost: a\r\n{auth}\r\n"
            + $"GET /echo/last HTTP/1.1\r\nHost: a\r\n{auth}Connection: close\r\n\r\n");
        Assert.True(Statuses(answer).SequenceEqual(["200", "204", "304", "200"]), answer);
        Assert.Contains("Content-Length: 100", answer, StringComparison.Ordinal);
        Assert.True(answer.EndsWith("\"body\":\"\"}\r\n0\r\n\r\n", StringComparison.Ordinal), answer);
    }

    [Theory]
    [InlineData("POST /echo/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400")]
    [InlineData("POST /echo/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n", "400")]
    [InlineData("POST /echo/x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", "400")]
    [InlineData("GET /echo/x HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", "400")]
    [InlineData("GET /echo/x HTTP/1.1\nHost: a\n\n", "400")]
    [InlineData("POST /echo/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "501")]
    [InlineData("GET /echo/x HTTP/1.1\r\n\r\n", "400")]
    [InlineData("GET /echo/x HTTP/2.0\r\nHost: a\r\n\r\n", "505")]
    public async Task Smuggling_shapes_are_refused_and_the_connection_closed(string request, string status)
    {
        await using var wire = HttpProxyHarness.Start([Target()]);
        // A second, valid request after the bad one must never be answered: the connection is closed.
        string answer = await wire.RawAsync(request + $"GET /echo/after HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {HttpProxyHarness.Token}\r\n\r\n");
        Assert.StartsWith($"HTTP/1.1 {status} ", answer, StringComparison.Ordinal);
        Assert.Contains("Connection: close", answer, StringComparison.Ordinal);
        Assert.DoesNotContain("/echo/after", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_chunked_bodies_are_refused_before_the_upstream_answers()
    {
        await using var wire = HttpProxyHarness.Start([Target()]);
        string answer = await wire.RawAsync(
            $"POST /echo/x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {HttpProxyHarness.Token}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n");
        Assert.True(answer.StartsWith("HTTP/1.1 400 ", StringComparison.Ordinal), answer + wire.Logs);
    }

    [Fact]
    public async Task Requests_route_by_host_then_longest_prefix_and_the_prefix_is_stripped()
    {
        await using var wire = HttpProxyHarness.Start(
        [
            Target("by-host", hosts: ["api.example.test", "*.svc.test"]),
            Target("short", pathPrefix: "/echo"),
            Target("long", pathPrefix: "/echo/deep/", path: "/echo/base"),
        ]);
        using var client = wire.Client();

        async Task<(string Authorization, string Path)> Get(string path, string? host = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (host is not null)
            {
                request.Headers.Host = host;
            }
            using var response = await client.SendAsync(request);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return ("", ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            var seen = EchoReport.Parse(await response.Content.ReadAsStringAsync());
            return (seen.Header("Authorization")!, seen.Path);
        }

        Assert.Equal(("Bearer upstream-secret-by-host", "/echo/x"), await Get("/echo/x", "api.example.test"));
        Assert.Equal(("Bearer upstream-secret-by-host", "/echo/y"), await Get("/echo/y", "a.b.svc.test:8443"));
        Assert.Equal(("Bearer upstream-secret-short", "/echo/z"), await Get("/echo/echo/z"));
        Assert.Equal(("Bearer upstream-secret-long", "/echo/base/w"), await Get("/echo/deep/w"));
        Assert.Equal(("", "404"), await Get("/other"));
        Assert.Equal(("", "404"), await Get("/echoes"));
    }

    [Fact]
    public async Task An_unreachable_target_is_502_and_an_https_target_is_verified()
    {
        var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        int port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        var unreachable = new HttpTargetOptions { Name = "gone", Url = new Uri($"http://127.0.0.1:{port}"), Hosts = ["gone.test"] };
        var untrusted = new HttpTargetOptions { Name = "untrusted", Url = upstream.HttpsUrl, Hosts = ["untrusted.test"] };
        var trusted = Target("trusted", hosts: ["trusted.test"], https: true);
        await using var proxy = HttpProxyHarness.Start([unreachable, untrusted, trusted]);
        using var client = proxy.Client();

        async Task<HttpStatusCode> Status(string host)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/echo/tls");
            request.Headers.Host = host;
            using var response = await client.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.BadGateway, await Status("gone.test"));
        Assert.Equal(HttpStatusCode.BadGateway, await Status("untrusted.test"));
        Assert.Equal(HttpStatusCode.OK, await Status("trusted.test"));
    }

    [Fact]
    public async Task Wire_terminates_tls_with_alpn_http_1_1()
    {
        using var certificate = Wire.Testing.TestCertificates.Shared.IssueServerCertificate();
        await using var wire = HttpProxyHarness.Start([Target()], certificate.Certificate);
        var handler = new SocketsHttpHandler
        {
            SslOptions = new System.Net.Security.SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null
                    && new System.Security.Cryptography.X509Certificates.X509Certificate2(cert).Issuer.Contains("Wire Test CA", StringComparison.Ordinal),
            },
        };
        using var client = wire.Client(tls: true, handler: handler);
        using var response = await client.GetAsync("/echo/secure");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("https", EchoReport.Parse(await response.Content.ReadAsStringAsync()).Header("X-Forwarded-Proto"));

        // Garbage instead of a TLS handshake: the connection closes, the server keeps serving.
        var garbage = await wire.RawAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.DoesNotContain("200 OK", garbage, StringComparison.Ordinal);
        using var again = await client.GetAsync("/echo/again");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task Impersonation_comes_from_the_identity_never_from_the_client()
    {
        await using var wire = HttpProxyHarness.Start([Target(impersonate: true)]);
        using var client = wire.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/echo/who");
        request.Headers.Add("Impersonate-User", "system:admin");
        using var response = await client.SendAsync(request);
        var seen = EchoReport.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("alice", seen.Header("Impersonate-User"));
        Assert.Equal("dev,ops", seen.Header("Impersonate-Group"));
    }

    [Fact]
    public async Task WebSocket_messages_pass_both_ways()
    {
        await using var wire = HttpProxyHarness.Start([Target()]);
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", $"Bearer {HttpProxyHarness.Token}");
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{wire.Port}/ws"), CancellationToken.None);
        var buffer = new byte[70_000];
        foreach (int size in new[] { 5, 200, 66_000 })
        {
            var message = RandomNumberGenerator.GetBytes(size);
            await socket.SendAsync(message, WebSocketMessageType.Binary, true, CancellationToken.None);
            int received = 0;
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(new ArraySegment<byte>(buffer, received, buffer.Length - received), CancellationToken.None);
                received += result.Count;
            }
            while (!result.EndOfMessage);
            Assert.Equal(message, buffer[..received]);
        }
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
    }

    [Fact]
    public async Task Curl_uploads_with_expect_100_continue_and_downloads()
    {
        await using var wire = HttpProxyHarness.Start([Target()]);
        string file = Path.GetTempFileName();
        try
        {
            var payload = RandomNumberGenerator.GetBytes(2 * 1024 * 1024);
            await File.WriteAllBytesAsync(file, payload);
            var upload = await Curl("-sS", "--http1.1", "-H", $"Authorization: Bearer {HttpProxyHarness.Token}", "-H", "Expect: 100-continue",
                "-T", file, $"http://127.0.0.1:{wire.Port}/echo/upload");
            var seen = EchoReport.Parse(upload);
            Assert.Equal("PUT", seen.Method);
            Assert.Equal(payload, seen.BodyBytes);

            var status = await Curl("-sS", "-o", "/dev/null", "-w", "%{http_code}", $"http://127.0.0.1:{wire.Port}/echo/anonymous");
            Assert.Equal("401", status);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static async Task<string> Curl(params string[] arguments)
    {
        var info = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(process.ExitCode == 0, $"curl failed: {await error}");
        return await output;
    }
}
