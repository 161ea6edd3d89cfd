using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Wire.Enforcement.Transport;
using Wire.Http.Proxy;
using Wire.Http.Tests.Proxy;
using Wire.Testing;

namespace Wire.Http.Tests.Limits;

/// <summary>
/// The limits of the HTTP listener (issue 10) against a real Kestrel upstream: over <c>maxConnections</c> a request is
/// answered 503 and the connection closed, over <c>maxConnectionsPerIdentity</c> 429, both with a problem document
/// that names the limit and a log line; an upgraded connection that carries nothing for <c>idleTimeout</c> is closed.
/// </summary>
public sealed class HttpConnectionLimitTests(UpstreamApp upstream) : IClassFixture<UpstreamApp>
{
    private HttpTargetOptions Target() => new() { Name = "app", Url = upstream.HttpUrl };

    private static string Get(string token) => $"GET /echo/limits HTTP/1.1\r\nHost: app.test\r\nAuthorization: Bearer {token}\r\n\r\n";

    /// <summary>A connection that made one request and stays open (keep-alive).</summary>
    private static async Task<Socket> HoldAsync(HttpProxyHarness wire, string token)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, wire.Port);
        await socket.SendAsync(Encoding.Latin1.GetBytes(Get(token)));
        string answer = await HttpProxyHarness.ReadAsync(socket, r => r.Contains("\r\n\r\n", StringComparison.Ordinal) && r.Contains("limits", StringComparison.Ordinal));
        Assert.StartsWith("HTTP/1.1 200", answer, StringComparison.Ordinal);
        return socket;
    }

    [Fact]
    public async Task Over_max_connections_a_request_is_answered_503_and_the_connection_closed()
    {
        await using var wire = HttpProxyHarness.Start([Target()], connections: new ConnectionLimits { MaxConnections = 1 });
        using (var held = await HoldAsync(wire, HttpProxyHarness.Token))
        {
            string refused = await wire.RawAsync(Get(HttpProxyHarness.Token));
            Assert.StartsWith("HTTP/1.1 503 Service Unavailable", refused, StringComparison.Ordinal);
            Assert.Contains("Connection: close", refused, StringComparison.Ordinal);
            Assert.Contains("at most 1 at once (http.limits.maxConnections)", refused, StringComparison.Ordinal);
            Assert.Contains(wire.Logs.Lines, l => l.Contains("too many connections", StringComparison.Ordinal));
        }
        // The held connection is closed: its slot frees.
        Assert.True(await Eventually.WaitAsync(() => wire.Server.ActiveConnections == 0));
        Assert.StartsWith("HTTP/1.1 200", await wire.RawAsync(Get(HttpProxyHarness.Token), r => r.Contains("limits", StringComparison.Ordinal)),
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task Over_max_connections_per_identity_that_identity_gets_429_and_others_pass()
    {
        await using var wire = HttpProxyHarness.Start([Target()], connections: new ConnectionLimits { MaxConnectionsPerIdentity = 1 });
        using var held = await HoldAsync(wire, HttpProxyHarness.Token);
        string refused = await wire.RawAsync(Get(HttpProxyHarness.Token));
        Assert.StartsWith("HTTP/1.1 429 Too Many Requests", refused, StringComparison.Ordinal);
        Assert.Contains("too many connections for alice: at most 1 at once (http.limits.maxConnectionsPerIdentity)", refused, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200", await wire.RawAsync(Get(HttpProxyHarness.OtherToken), r => r.Contains("limits", StringComparison.Ordinal)),
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_idle_upgraded_connection_is_closed()
    {
        await using var wire = HttpProxyHarness.Start([Target()], connections: new ConnectionLimits { IdleTimeout = TimeSpan.FromSeconds(1) });
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", $"Bearer {HttpProxyHarness.Token}");
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{wire.Port}/ws"), CancellationToken.None);

        var buffer = new byte[64];
        // Messages more often than the timeout keep it open.
        for (int i = 0; i < 8; i++)
        {
            await socket.SendAsync("ping"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
            var echo = await socket.ReceiveAsync(buffer, CancellationToken.None);
            Assert.Equal("ping", Encoding.UTF8.GetString(buffer, 0, echo.Count));
            await Task.Delay(250);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var closed = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            var result = await socket.ReceiveAsync(buffer, timeout.Token);
            // A close without a close frame surfaces as an exception; a close frame would be a result.
            throw new WebSocketException(result.MessageType.ToString());
        });
        Assert.IsNotType<OperationCanceledException>(closed);
        Assert.Contains(wire.Logs.Lines, l => l.Contains("idle for more than 00:00:01 (http.limits.idleTimeout)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Buffer_bytes_bound_what_a_connection_holds_for_a_client_that_stops_reading()
    {
        // The same 400 MB body, a client that never reads it, two settings: what Wire takes from the upstream before it
        // stops reading is its pipes (bufferBytes each) plus the kernel's socket buffers (a few MiB on loopback).
        long small = await HeldForStalledClientAsync(WirePipes.MinBufferBytes);
        long large = await HeldForStalledClientAsync(64L << 20);
        Assert.True(small < 24L << 20, $"with 64 KiB pipes Wire took {small:N0} bytes from the upstream");
        Assert.True(large > 100L << 20, $"with 64 MiB pipes Wire took only {large:N0} bytes from the upstream");
    }

    private async Task<long> HeldForStalledClientAsync(long bufferBytes)
    {
        await using var wire = HttpProxyHarness.Start([Target()], configure: o => o.BufferBytes = bufferBytes);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, wire.Port);
        long before = upstream.BigBytesWritten;
        await socket.SendAsync(Encoding.Latin1.GetBytes(
            $"GET /big?size={400L << 20} HTTP/1.1\r\nHost: app.test\r\nAuthorization: Bearer {HttpProxyHarness.Token}\r\n\r\n"));
        Assert.True(await Eventually.WaitAsync(() => upstream.BigBytesWritten > before), "the upstream never began its body");
        long? held = await Eventually.SteadyAsync(() => upstream.BigBytesWritten - before);
        Assert.True(held.HasValue, "the bytes kept growing: back-pressure never reached the upstream");
        return held.Value;
    }
}
