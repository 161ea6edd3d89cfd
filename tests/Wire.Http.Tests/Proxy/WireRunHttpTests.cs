using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Wire.Testing;

namespace Wire.Http.Tests.Proxy;

/// <summary><c>wire run --config</c> with an <c>http</c> section, as a real process in front of the Kestrel upstream.</summary>
public sealed class WireRunHttpTests(UpstreamApp upstream) : IClassFixture<UpstreamApp>, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("wire-run-http-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public async Task The_gateway_serves_http_from_its_config_file_and_drains_on_sigterm()
    {
        int port = FreePort();
        File.WriteAllText(Path.Combine(_directory, "upstream-token"), "file-held-secret\n");
        string config = Path.Combine(_directory, "gateway.json");
        File.WriteAllText(config, $$"""
            {
              "identity": { "tokens": [ { "token": "run-token", "subject": "bob", "groups": ["dev"] } ] },
              "http": {
                "listen": "127.0.0.1:{{port}}",
                "targets": [ { "name": "app", "url": "{{upstream.HttpUrl}}", "pathPrefix": "/app",
                               "credential": { "header": "X-Upstream-Token", "value": "file:upstream-token" } } ]
              },
              "shutdownTimeout": "00:00:05"
            }
            """);
        await using var wire = WireProcess.StartFrom(WireProcess.GatewayBuildOutput(), "run", "--config", config);
        await wire.WaitForAsync("Listening for http", TimeSpan.FromSeconds(30));

        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "run-token");
        using var response = await client.GetAsync("/app/echo/hello");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = EchoReport.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("/echo/hello", seen.Path);
        Assert.Equal("file-held-secret", seen.Header("X-Upstream-Token"));
        Assert.Null(seen.Header("Authorization"));

        client.DefaultRequestHeaders.Authorization = null;
        using var anonymous = await client.GetAsync("/app/echo/hello");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);

        wire.Signal(System.Runtime.InteropServices.PosixSignal.SIGTERM);
        Assert.Equal(0, await wire.WaitForExitAsync(TimeSpan.FromSeconds(20)));
    }
}
