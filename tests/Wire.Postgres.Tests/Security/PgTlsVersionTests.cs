using Npgsql;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Testing;

namespace Wire.Postgres.Tests.Security;

/// <summary>
/// Security checklist (docs/security.md), PostgreSQL: no TLS below 1.2 on either leg. The client-facing listener
/// refuses a TLS 1.0 or 1.1 handshake (<c>openssl s_client -starttls postgres</c>) and accepts TLS 1.2 and 1.3; toward a
/// target, Wire's ClientHello offers only TLS 1.2 and 1.3, so a server that speaks only TLS 1.1 gets no session while
/// the same server at TLS 1.2 completes the handshake.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PgTlsVersionTests(PostgresFixture pg) : IDisposable
{
    private const string Token = "tok-pg-tls-alice-6a1c";
    private static readonly string WireDll = Path.Combine(AppContext.BaseDirectory, "wire.dll");
    private readonly string _directory = Directory.CreateTempSubdirectory("wire-pg-tls-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task The_client_listener_refuses_tls_1_0_and_1_1_and_accepts_1_2_and_1_3()
    {
        // This machine's OpenSSL can speak TLS 1.1 when asked: the refusals below are Wire's.
        using var certificate = TestCertificates.Shared.IssueServerCertificate();
        await TlsProbe.AssertOpenSslSpeaksTls11Async(_directory, certificate);

        File.WriteAllText(Path.Combine(_directory, "server.crt"), certificate.CertificatePem);
        File.WriteAllText(Path.Combine(_directory, "server.key"), certificate.PrivateKeyPem);
        int port = TlsProbe.FreePort();
        await using var wire = await WireRun.StartFromAsync(WireDll, TlsProbe.PermissiveOpenSsl(_directory), _directory, $$"""
            {
              "identity": { "tokens": [ { "token": "{{Token}}", "subject": "alice" } ] },
              "postgres": {
                "listen": "127.0.0.1:{{port}}",
                "tls": { "certificate": "server.crt", "key": "server.key", "required": true },
                "targets": [ { "name": "app", "host": "127.0.0.1", "port": {{pg.Port}}, "database": "app",
                               "username": "{{PostgresFixture.ScramUser}}", "password": "{{pg.ScramPassword}}", "sslMode": "disable" } ]
              },
              "shutdownTimeout": "00:00:02"
            }
            """, "Listening for postgres");

        await TlsProbe.AssertAgreesOnlyOnTls12And13Async(port, starttls: "postgres");

        // And a real client still gets in over TLS.
        await using var conn = new NpgsqlConnection(
            $"Host=127.0.0.1;Port={port};Username=alice;Password={Token};Database=app;Pooling=false;SSL Mode=VerifyFull;Root Certificate={pg.CaPemPath};Timeout=10");
        await conn.OpenAsync();
    }

    [Fact]
    public async Task Toward_a_target_wire_offers_only_tls_1_2_and_1_3_and_a_tls_1_1_server_gets_no_session()
    {
        using var certificate = TestCertificates.Shared.IssueServerCertificate();
        await using var legacyServer = await OpenSslServer.StartAsync(_directory, certificate, "tls1_1");
        await using var modernServer = await OpenSslServer.StartAsync(_directory, certificate, "tls1_2");
        await using var legacy = TcpTap.Start(legacyServer.Port, TlsProbe.AnswerSslRequestAsync);
        await using var modern = TcpTap.Start(modernServer.Port, TlsProbe.AnswerSslRequestAsync);

        int port = TlsProbe.FreePort();
        await using var wire = await WireRun.StartFromAsync(WireDll, TlsProbe.PermissiveOpenSsl(_directory), _directory, $$"""
            {
              "identity": { "tokens": [ { "token": "{{Token}}", "subject": "alice" } ] },
              "postgres": {
                "listen": "127.0.0.1:{{port}}",
                "limits": { "handshakeTimeout": "00:00:02" },
                "targets": [
                  { "name": "legacy", "host": "127.0.0.1", "port": {{legacy.Port}}, "username": "u", "password": "p", "sslMode": "require" },
                  { "name": "modern", "host": "127.0.0.1", "port": {{modern.Port}}, "username": "u", "password": "p", "sslMode": "require" }
                ]
              },
              "shutdownTimeout": "00:00:02"
            }
            """, "Listening for postgres");

        foreach (string target in (string[])["legacy", "modern"])
        {
            // Neither server speaks PostgreSQL after TLS: both logins fail, the difference is in the TLS records.
            await using var conn = new NpgsqlConnection(
                $"Host=127.0.0.1;Port={port};Username=alice;Password={Token};Database={target};Pooling=false;SSL Mode=Disable;Timeout=15");
            await Assert.ThrowsAnyAsync<NpgsqlException>(() => conn.OpenAsync());
        }

        foreach (var tap in new[] { legacy, modern })
        {
            Assert.True(tap.Connections >= 1, "Wire never reached the TLS server");
            TlsProbe.AssertOffersOnlyTls12And13(tap.FromClient[0], "Wire");
        }
        // TLS 1.1 only: an alert, and Wire never sent application data. TLS 1.2: the handshake completed and Wire sent its startup.
        Assert.Equal(21, legacy.ToClient[0][0]);
        Assert.False(TlsProbe.HasApplicationData(legacy.FromClient[0]));
        Assert.True(TlsProbe.HasApplicationData(modern.FromClient[0]), "Wire did not complete TLS 1.2 with the target");
    }
}
