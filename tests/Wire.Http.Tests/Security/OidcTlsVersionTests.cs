using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Wire.Testing;

namespace Wire.Http.Tests.Security;

/// <summary>
/// Security checklist (docs/security.md, item 5): the OIDC discovery fetch offers only TLS 1.2 and 1.3. The gateway runs
/// under an OpenSSL configuration that would offer TLS 1.0 (<see cref="TlsProbe.PermissiveOpenSsl"/>), so only Wire's own
/// pin keeps the older versions out; a loopback listener stands in for the issuer and keeps the ClientHello.
/// </summary>
public sealed class OidcTlsVersionTests : IDisposable
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private readonly string _directory = Directory.CreateTempSubdirectory("wire-oidc-tls-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task The_discovery_fetch_offers_only_tls_1_2_and_1_3()
    {
        using var issuerListener = new TcpListener(IPAddress.Loopback, 0);
        issuerListener.Start();
        string issuer = $"https://127.0.0.1:{((IPEndPoint)issuerListener.LocalEndpoint).Port}";
        var hello = CaptureFirstRecordAsync(issuerListener);

        int port = TlsProbe.FreePort();
        var openSsl = TlsProbe.PermissiveOpenSsl(_directory);
        await using var wire = await WireRun.StartFromAsync(WireProcess.GatewayBuildOutput(), openSsl, _directory, $$"""
            {
              "identity": { "oidc": { "issuer": "{{issuer}}", "audience": "wire" } },
              "http": { "listen": "127.0.0.1:{{port}}", "targets": [ { "name": "app", "url": "http://127.0.0.1:9" } ] },
              "shutdownTimeout": "00:00:02"
            }
            """, "Listening for http");

        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = Limit };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", UnsignedToken(issuer));
        using var response = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode); // the "issuer" never answers

        TlsProbe.AssertOffersOnlyTls12And13(await hello.WaitAsync(Limit), "the OIDC fetch");
    }

    private static async Task<byte[]> CaptureFirstRecordAsync(TcpListener listener)
    {
        using var socket = await listener.AcceptSocketAsync();
        var buffer = new byte[16384];
        int length = 0;
        using var cts = new CancellationTokenSource(Limit);
        // One TLS record: its 5-byte header says how long it is.
        while (length < 5 || length < 5 + ((buffer[3] << 8) | buffer[4]))
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, cts.Token);
            if (n == 0)
            {
                break;
            }
            length += n;
        }
        return buffer[..length];
    }

    /// <summary>A well-formed JWT from <paramref name="issuer"/> whose key Wire has to fetch (its signature never gets checked).</summary>
    private static string UnsignedToken(string issuer)
    {
        static string Part(string json) => Convert.ToBase64String(Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        long exp = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds();
        return Part("""{"alg":"RS256","kid":"k1","typ":"JWT"}""") + "." + Part($$"""{"iss":"{{issuer}}","aud":"wire","sub":"alice","exp":{{exp}}}""") + ".c2ln";
    }
}
