using System.Net;
using System.Net.Http.Headers;
using Wire.Testing;

namespace Wire.Http.Tests.Security;

/// <summary>
/// Security checklist (docs/security.md), HTTP: no TLS below 1.2 on either leg. The HTTPS listener refuses a TLS 1.0
/// or 1.1 handshake (<c>openssl s_client</c>) and accepts TLS 1.2 and 1.3; toward an <c>https://</c> target Wire's
/// ClientHello offers only TLS 1.2 and 1.3, so a target that speaks only TLS 1.1 is answered 502 while the same
/// server at TLS 1.2 serves the request.
/// </summary>
public sealed class HttpTlsVersionTests : IDisposable
{
    private const string Token = "tok-http-tls-alice-5f0e";
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private readonly string _directory = Directory.CreateTempSubdirectory("wire-http-tls-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task The_https_listener_refuses_tls_1_0_and_1_1_and_accepts_1_2_and_1_3()
    {
        // This machine's OpenSSL can speak TLS 1.1 when asked: the refusals below are Wire's.
        using var certificate = TestCertificates.Shared.IssueServerCertificate();
        await TlsProbe.AssertOpenSslSpeaksTls11Async(_directory, certificate);

        File.WriteAllText(Path.Combine(_directory, "server.crt"), certificate.CertificatePem);
        File.WriteAllText(Path.Combine(_directory, "server.key"), certificate.PrivateKeyPem);
        int port = TlsProbe.FreePort();
        var openSsl = TlsProbe.PermissiveOpenSsl(_directory);
        await using var wire = await WireRun.StartFromAsync(WireProcess.GatewayBuildOutput(), openSsl, _directory, $$"""
            {
              "identity": { "tokens": [ { "token": "{{Token}}", "subject": "alice" } ] },
              "http": {
                "listen": "127.0.0.1:{{port}}",
                "tls": { "certificate": "server.crt", "key": "server.key" },
                "targets": [ { "name": "api", "url": "http://127.0.0.1:{{TlsProbe.FreePort()}}" } ]
              },
              "shutdownTimeout": "00:00:02"
            }
            """, "Listening for http");

        await TlsProbe.AssertAgreesOnlyOnTls12And13Async(port);
    }

    [Fact]
    public async Task Toward_an_https_target_wire_offers_only_tls_1_2_and_1_3_and_a_tls_1_1_server_gets_502()
    {
        using var certificate = TestCertificates.Shared.IssueServerCertificate();
        await using var legacyServer = await OpenSslServer.StartAsync(_directory, certificate, "tls1_1");
        await using var modernServer = await OpenSslServer.StartAsync(_directory, certificate, "tls1_2");
        await using var legacy = TcpTap.Start(legacyServer.Port);
        await using var modern = TcpTap.Start(modernServer.Port);
        TestCertificates.Shared.WritePem(Path.Combine(_directory, "ca.pem"));

        int port = TlsProbe.FreePort();
        var openSsl = TlsProbe.PermissiveOpenSsl(_directory);
        await using var wire = await WireRun.StartFromAsync(WireProcess.GatewayBuildOutput(), openSsl, _directory, $$"""
            {
              "identity": { "tokens": [ { "token": "{{Token}}", "subject": "alice" } ] },
              "http": {
                "listen": "127.0.0.1:{{port}}",
                "targets": [
                  { "name": "legacy", "url": "https://localhost:{{legacy.Port}}", "pathPrefix": "/legacy", "caFile": "ca.pem" },
                  { "name": "modern", "url": "https://localhost:{{modern.Port}}", "pathPrefix": "/modern", "caFile": "ca.pem" }
                ]
              },
              "shutdownTimeout": "00:00:02"
            }
            """, "Listening for http");

        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = Limit };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using (var response = await client.GetAsync("/legacy/"))
        {
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        }
        using (var response = await client.GetAsync("/modern/"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("TLSv1.2", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        foreach (var tap in new[] { legacy, modern })
        {
            Assert.True(tap.Connections >= 1, "Wire never reached the TLS server");
            TlsProbe.AssertOffersOnlyTls12And13(tap.FromClient[0], "Wire");
        }
        Assert.False(TlsProbe.HasApplicationData(legacy.FromClient[0]));
    }
}
