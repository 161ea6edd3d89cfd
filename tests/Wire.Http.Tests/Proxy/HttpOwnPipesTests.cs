using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Wire.Enforcement;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;
using Wire.Http.Proxy;
using Wire.Testing;

namespace Wire.Http.Tests.Proxy;

/// <summary>
/// <see cref="HttpProxyServer.RunAsync"/>: a host that owns the transport (its own accept loop, and its own connection to
/// the real upstream through a relay of its own) runs Wire's HTTP session over them; Wire never listens nor dials.
/// </summary>
public sealed class HttpOwnPipesTests(UpstreamApp upstream) : IClassFixture<UpstreamApp>
{
    private const string Token = "own-pipes-token";

    [Fact]
    public async Task Requests_go_over_the_hosts_connection_to_its_one_target_judged_and_masked()
    {
        var options = new HttpProxyOptions { Listen = new IPEndPoint(IPAddress.Loopback, 0) }; // never started
        options.Targets.Add(new HttpTargetOptions
        {
            Name = "app", Url = upstream.HttpUrl, PathPrefix = "/app", CredentialHeader = "Authorization", CredentialValue = "Bearer upstream-secret",
        });
        options.Targets.Add(new HttpTargetOptions
        {
            Name = "other", Url = upstream.HttpUrl, PathPrefix = "/other", CredentialHeader = "Authorization", CredentialValue = "Bearer other-secret",
        });
        await using var server = new HttpProxyServer(options, new StaticTokenValidator([new StaticToken(Token, "alice", ["eng"])]), null,
            new WireEnforcement
            {
                Rules = new RuleSetProvider(RuleSet.Create(
                [
                    new RuleDefinition { Name = "pii", Action = PolicyAction.Mask, Detectors = ["email", "ssn"] },
                    new RuleDefinition { Name = "read-only", Action = PolicyAction.Deny, Methods = ["DELETE"] },
                ])),
            });

        using var accept = new TcpListener(IPAddress.Loopback, 0);
        accept.Start();
        int port = ((IPEndPoint)accept.LocalEndpoint).Port;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var hostsRoute = TcpTap.Start(upstream.HttpUrl.Port);
        var hosting = Task.Run(async () =>
        {
            using var client = await accept.AcceptSocketAsync(timeout.Token);
            using var toUpstream = new TcpClient();
            await toUpstream.ConnectAsync(IPAddress.Loopback, hostsRoute.Port, timeout.Token);
            await server.RunAsync(new StreamPipe(new NetworkStream(client, ownsSocket: false)), new StreamPipe(toUpstream.GetStream()), "app",
                (IPEndPoint)client.RemoteEndPoint!, timeout.Token);
        });

        using (var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}"),
            Timeout = TimeSpan.FromSeconds(30),
        })
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);

            // Forwarded with the target's credential (which the echo would give away, so Wire masks it on the way back).
            var echo = EchoReport.Parse(await http.GetStringAsync("/app/echo/hello"));
            Assert.Equal("/echo/hello", echo.Path);
            Assert.Equal(new string('*', "Bearer upstream-secret".Length), echo.Header("Authorization"));

            // Masked as on a listener's session.
            string text = await http.GetStringAsync("/app/text");
            Assert.DoesNotContain("alice@example.com", text, StringComparison.Ordinal);
            Assert.DoesNotContain("123-45-6789", text, StringComparison.Ordinal);

            // Judged: denied, and the connection stays.
            using (var delete = await http.DeleteAsync("/app/echo/x"))
            {
                Assert.Equal(HttpStatusCode.Forbidden, delete.StatusCode);
            }

            // Another target's request is not sent over the host's connection, nor its credential.
            using (var misdirected = await http.GetAsync("/other/echo/x"))
            {
                Assert.Equal(HttpStatusCode.MisdirectedRequest, misdirected.StatusCode);
                Assert.Contains("reaches target app only", await misdirected.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/app/echo/again")).StatusCode);
        }

        await hosting.WaitAsync(TimeSpan.FromSeconds(30)); // the client's connection closed: the session ended
        Assert.Equal(1, hostsRoute.Connections);
        string sent = Encoding.Latin1.GetString([.. hostsRoute.FromClient.SelectMany(b => b)]);
        Assert.Equal(3, CountOf(sent, "Bearer upstream-secret")); // the two GETs of /echo and /text, and the last one
        Assert.DoesNotContain("other-secret", sent, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, sent, StringComparison.Ordinal);
    }

    private static int CountOf(string text, string value)
    {
        int count = 0;
        for (int at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + value.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }
}
