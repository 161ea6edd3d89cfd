using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Wire.Enforcement;
using Wire.Enforcement.Recording;
using Wire.Http.Proxy;
using Wire.Http.Tests.Proxy;
using Wire.Testing;

namespace Wire.Http.Tests.Faults;

/// <summary>
/// Faults between real HttpClient/raw clients, Wire's HTTP proxy and a real Kestrel upstream that misbehaves on purpose:
/// it dies in the middle of a response body, or a client dies in the middle of its upload, or the recorder's disk fills
/// (DESIGN.md §4: recorder failure is 503). The client never takes a cut body for a whole one, nothing hangs, Wire logs
/// it, and the next request is served.
/// </summary>
public sealed class HttpFaultTests(FaultyUpstream upstream) : IClassFixture<FaultyUpstream>
{
    private HttpTargetOptions Target() => new()
    {
        Name = "app",
        Url = upstream.Url,
        CredentialHeader = "Authorization",
        CredentialValue = "Bearer upstream-secret",
    };

    [Theory]
    [InlineData("/content-length")]
    [InlineData("/chunked")]
    public async Task An_upstream_that_dies_mid_body_cuts_the_client_off_instead_of_ending_the_response(string path)
    {
        await using var wire = HttpProxyHarness.Start([Target()]);
        using var client = wire.Client();

        // Headers and the first 64 KiB went out already: Wire can no longer answer 502, only cut the connection. The
        // client must see an error, not a short body that looks complete.
        using var response = await client.GetAsync("/die" + path, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var stopwatch = Stopwatch.StartNew();
        long received = 0;
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var body = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[64 * 1024];
            int n;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            while ((n = await body.ReadAsync(buffer, timeout.Token)) > 0)
            {
                received += n;
            }
        });
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(15), $"the cut took {stopwatch.Elapsed}");
        Assert.IsNotType<OperationCanceledException>(error);
        Assert.IsNotType<TaskCanceledException>(error);
        Assert.True(received >= FaultyUpstream.SentBeforeDying && received < FaultyUpstream.DeclaredLength, $"received {received} bytes");
        await WaitForLogAsync(wire, "HTTP session");

        using var next = await client.GetAsync("/ok");
        Assert.Equal("ok", await next.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_upstream_that_dies_before_its_response_head_is_502()
    {
        await using var wire = HttpProxyHarness.Start([Target()]);
        using var client = wire.Client();
        using var response = await client.GetAsync("/die/before-head");
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("target app closed the connection", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await WaitForLogAsync(wire, "target app");
        using var next = await client.GetAsync("/ok");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task An_upstream_that_never_answers_is_504_within_the_response_timeout()
    {
        await using var wire = HttpProxyHarness.Start([Target()], configure: o => o.ResponseTimeout = TimeSpan.FromSeconds(2));
        using var client = wire.Client();
        var stopwatch = Stopwatch.StartNew();
        using var response = await client.GetAsync("/stall");
        var elapsed = stopwatch.Elapsed;
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Contains("target app did not answer within 00:00:02", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True(elapsed >= TimeSpan.FromSeconds(1.5) && elapsed < TimeSpan.FromSeconds(15), $"answered after {elapsed}");
        await WaitForLogAsync(wire, "did not begin its response within");
        using var next = await client.GetAsync("/ok");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task The_response_timeout_starts_once_the_request_body_is_through()
    {
        // The body trickles in for longer than the timeout; the target answers as soon as it has it all.
        await using var wire = HttpProxyHarness.Start([Target()], configure: o => o.ResponseTimeout = TimeSpan.FromSeconds(1));
        string id = Guid.NewGuid().ToString("N");
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, wire.Port);
        await socket.SendAsync(Encoding.ASCII.GetBytes(
            $"POST /upload/{id} HTTP/1.1\r\nHost: app\r\nAuthorization: Bearer {HttpProxyHarness.Token}\r\nContent-Length: 6\r\n\r\n"));
        for (int i = 0; i < 6; i++)
        {
            await Task.Delay(400);
            await socket.SendAsync("x"u8.ToArray());
        }
        var answer = new byte[4096];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        int n = await socket.ReceiveAsync(answer, SocketFlags.None, cts.Token);
        Assert.StartsWith("HTTP/1.1 200", Encoding.ASCII.GetString(answer, 0, n), StringComparison.Ordinal);
        Assert.Equal("complete", upstream.UploadOutcome(id));
        Assert.Equal(6, upstream.UploadBytes(id));
    }

    [Fact]
    public async Task A_client_vanishing_mid_upload_aborts_the_upstream_request_and_wire_keeps_serving()
    {
        await using var wire = HttpProxyHarness.Start([Target()]);
        string id = Guid.NewGuid().ToString("N");
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await socket.ConnectAsync(IPAddress.Loopback, wire.Port);
            await socket.SendAsync(Encoding.ASCII.GetBytes(
                $"POST /upload/{id} HTTP/1.1\r\nHost: app\r\nAuthorization: Bearer {HttpProxyHarness.Token}\r\nContent-Length: 10000000\r\n\r\n"));
            await socket.SendAsync(new byte[1 << 20]);
            Assert.True(await Eventually.WaitAsync(() => upstream.UploadBytes(id) >= 512 * 1024), "the upload did not reach the upstream");
            socket.LingerState = new LingerOption(true, 0);
        }

        // The upstream learns that the request died (its body read fails) instead of waiting for 9 MB that never come.
        Assert.True(await Eventually.WaitAsync(() => upstream.UploadOutcome(id) is not null), "the upstream request was still waiting for its body\n" + wire.Logs);
        Assert.Equal("aborted", upstream.UploadOutcome(id));
        await WaitForLogAsync(wire, "in the middle of");

        using var client = wire.Client();
        using var next = await client.GetAsync("/ok");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }

    [Fact]
    public async Task A_recorder_disk_that_fills_turns_requests_into_503_and_the_cut_recording_never_verifies()
    {
        using var disk = TmpfsMount.TryCreate(512 * 1024)
            ?? throw new InvalidOperationException("this test mounts a tmpfs: run it as root or with passwordless sudo (as .ci/run does)");
        byte[] key = Encoding.UTF8.GetBytes("http-fault-recording-key-0123456789abcdef");
        await using (var wire = HttpProxyHarness.Start([Target()], enforcement: new WireEnforcement
        {
            Recorder = new FileSessionRecorderFactory(new RecordingOptions { Directory = disk.Path, Key = key }, TimeProvider.System,
                NullLoggerFactory.Instance),
        }))
        {
            // One kept-alive connection is one session, one recording.
            using var client = wire.Client();
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/ok")).StatusCode);

            disk.Fill();
            int attempt = 0;
            HttpResponseMessage refused;
            while (true)
            {
                Assert.True(attempt++ < 100, "no request was refused after the disk filled\n" + wire.Logs);
                refused = await client.GetAsync("/ok");
                if (refused.StatusCode != HttpStatusCode.OK)
                {
                    break;
                }
                refused.Dispose();
                await Task.Delay(50);
            }
            using (refused)
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
                Assert.Contains("cannot be recorded", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            int reached = upstream.OkRequests;
            for (int i = 0; i < 3; i++)
            {
                using var again = await client.GetAsync("/ok");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, again.StatusCode);
            }
            Assert.Equal(reached, upstream.OkRequests);
        }

        string cut = Assert.Single(Directory.GetFiles(disk.Path, "*.jsonl"));
        var verification = RecordingVerifier.VerifyFile(cut, key);
        Assert.False(verification.IsValid, verification.ToString());
        Assert.Equal(RecordingDefect.Truncated, verification.Defect);
    }

    private static async Task WaitForLogAsync(HttpProxyHarness wire, string text)
    {
        Assert.True(await Eventually.WaitAsync(() => wire.Logs.Lines.Any(l => l.Contains(text, StringComparison.Ordinal))),
            $"no log line with \"{text}\":\n{wire.Logs}");
    }
}

/// <summary>A real Kestrel upstream that fails on purpose.</summary>
public sealed class FaultyUpstream : IAsyncLifetime
{
    public const int DeclaredLength = 4 << 20;
    public const int SentBeforeDying = 64 * 1024;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _uploadBytes = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _uploadOutcomes = new();
    private WebApplication? _app;
    private int _okRequests;

    public Uri Url { get; private set; } = null!;

    public int OkRequests => Volatile.Read(ref _okRequests);

    public long UploadBytes(string id) => _uploadBytes.GetValueOrDefault(id);

    public string? UploadOutcome(string id) => _uploadOutcomes.GetValueOrDefault(id);

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http1);
            kestrel.Limits.MaxRequestBodySize = null;
        });
        var app = builder.Build();
        app.MapGet("/ok", () =>
        {
            Interlocked.Increment(ref _okRequests);
            return Results.Text("ok");
        });
        app.MapGet("/stall", async (HttpContext context) => await Task.Delay(Timeout.Infinite, context.RequestAborted));
        app.MapGet("/die/{mode}", async (HttpContext context, string mode) =>
        {
            if (mode == "before-head")
            {
                context.Abort();
                return;
            }
            if (mode == "content-length")
            {
                context.Response.ContentLength = DeclaredLength;
            }
            context.Response.ContentType = "application/octet-stream";
            await context.Response.Body.WriteAsync(new byte[SentBeforeDying]);
            await context.Response.Body.FlushAsync();
            await Task.Delay(200);
            context.Abort();
        });
        app.MapPost("/upload/{id}", async (HttpContext context, string id) =>
        {
            var buffer = new byte[64 * 1024];
            try
            {
                int n;
                while ((n = await context.Request.Body.ReadAsync(buffer)) > 0)
                {
                    _uploadBytes.AddOrUpdate(id, n, (_, total) => total + n);
                }
                _uploadOutcomes[id] = "complete";
            }
            catch (Exception e) when (e is IOException or Microsoft.AspNetCore.Http.BadHttpRequestException or OperationCanceledException or Microsoft.AspNetCore.Connections.ConnectionResetException)
            {
                _uploadOutcomes[id] = "aborted";
            }
        });
        await app.StartAsync();
        _app = app;
        Url = new Uri(app.Urls.First());
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}
