using Wire.Testing;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Wire.Enforcement;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Sessions;
using Wire.Http.Proxy;

namespace Wire.Http.Tests.Proxy;

/// <summary>
/// Live sessions (issue 9): an HTTP connection through Wire is registered per identity, its requests and bytes counted,
/// and an administrator's termination closes it (DESIGN.md §4: HTTP close), with a real HttpClient.
/// </summary>
public sealed class HttpSessionRegistryTests(UpstreamApp upstream) : IClassFixture<UpstreamApp>
{
    private HttpTargetOptions Target() => new()
    {
        Name = "app",
        Url = upstream.HttpUrl,
        Hosts = ["app.test"],
        CredentialHeader = "Authorization",
        CredentialValue = "Bearer upstream-secret",
    };

    /// <summary>An HttpClient whose connections are kept, so the test can tell which one a request used and whether the server closed it.</summary>
    private static (HttpClient Client, ConcurrentQueue<Socket> Sockets) TrackingClient(HttpProxyHarness wire)
    {
        var sockets = new ConcurrentQueue<Socket>();
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(IPAddress.Loopback, context.DnsEndPoint.Port, ct);
                sockets.Enqueue(socket);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        return (wire.Client(handler: handler), sockets);
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, string? body = null, string? token = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : new StringContent(body, Encoding.UTF8) };
        request.Headers.Host = "app.test";
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        var response = await client.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    [Fact]
    public async Task Registry_lists_the_connection_and_terminating_it_closes_the_connection()
    {
        var registry = new SessionRegistry();
        await using var wire = HttpProxyHarness.Start([Target()], enforcement: new WireEnforcement { Sessions = registry });
        var (client, sockets) = TrackingClient(wire);
        using (client)
        {
            string body = new('x', 5000);
            using (var first = await SendAsync(client, HttpMethod.Post, "/echo/one", body))
            {
                Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            }
            using (var second = await SendAsync(client, HttpMethod.Get, "/echo/two"))
            {
                Assert.Equal(HttpStatusCode.OK, second.StatusCode);
            }
            var socket = Assert.Single(sockets);

            var live = Assert.Single(registry.Active);
            Assert.StartsWith("http-", live.Id, StringComparison.Ordinal);
            Assert.Equal(WireProtocol.Http, live.Protocol);
            Assert.Equal("app", live.Target);
            Assert.Equal("alice", live.Identity.Subject);
            Assert.Equal(socket.LocalEndPoint!.ToString(), live.Client);
            Assert.Equal(2, live.Commands);
            Assert.True(live.BytesFromClient > body.Length, $"bytes from the client: {live.BytesFromClient}");
            Assert.True(live.BytesToClient > body.Length, $"bytes to the client: {live.BytesToClient}");

            Assert.True(registry.TryTerminate(live.Id, "incident 9"));
            Assert.True(await Eventually.WaitAsync(() => registry.Active.Count == 0), "the session did not end");

            // The server closed the old connection: it reads as ended (readable, nothing to read).
            Assert.True(socket.Poll(TimeSpan.FromSeconds(10), SelectMode.SelectRead), "the connection is still open");
            Assert.Equal(0, socket.Available);
            Assert.Contains(wire.Logs.Lines, l => l.Contains("ended by an administrator: incident 9", StringComparison.Ordinal));

            // The next request goes on a new connection, which is a new session.
            using (var third = await SendAsync(client, HttpMethod.Get, "/echo/three"))
            {
                Assert.Equal(HttpStatusCode.OK, third.StatusCode);
            }
            Assert.Equal(2, sockets.Count);
            var next = Assert.Single(registry.Active);
            Assert.NotEqual(live.Id, next.Id);
            Assert.Equal(1, next.Commands);
            Assert.False(registry.TryTerminate(live.Id, "again"));
        }
    }

    [Fact]
    public async Task Registry_keeps_one_entry_per_connection_and_identity()
    {
        var registry = new SessionRegistry();
        await using var wire = HttpProxyHarness.Start([Target()], enforcement: new WireEnforcement { Sessions = registry });
        var (client, sockets) = TrackingClient(wire);
        using (client)
        {
            using (var alice = await SendAsync(client, HttpMethod.Get, "/echo/a"))
            {
                Assert.Equal(HttpStatusCode.OK, alice.StatusCode);
            }
            var first = Assert.Single(registry.Active);
            Assert.Equal("alice", first.Identity.Subject);

            using (var bob = await SendAsync(client, HttpMethod.Get, "/echo/b", token: HttpProxyHarness.OtherToken))
            {
                Assert.Equal(HttpStatusCode.OK, bob.StatusCode);
            }
            Assert.Single(sockets);
            var second = Assert.Single(registry.Active);
            Assert.Equal("bob", second.Identity.Subject);
            Assert.NotEqual(first.Id, second.Id);
            Assert.Equal(1, second.Commands);

            // An unauthenticated request is not a command of anyone's session.
            using (var anonymous = await SendAsync(client, HttpMethod.Get, "/echo/c", token: "not-a-token"))
            {
                Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            }
            Assert.Equal(1, Assert.Single(registry.Active).Commands);
        }
        Assert.True(await Eventually.WaitAsync(() => registry.Active.Count == 0), "the session stayed after the client left");
    }

}
