using Wire.Testing;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using Npgsql.Replication;
using Wire.Postgres.Tests.Infrastructure;

namespace Wire.Postgres.Tests.Proxy;

/// <summary>The client's side of Wire: tokens, targets, client TLS, unsupported startups.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ClientLegTests(PostgresFixture fixture)
{
    [Fact(Timeout = 60_000)]
    public async Task Wrong_token_is_28P01()
    {
        await using var wire = WireProxyHarness.Start(fixture);

        var error = await Assert.ThrowsAsync<PostgresException>(() => wire.OpenClientAsync(b => b.Password = "not-a-token"));

        Assert.Equal(PostgresErrorCodes.InvalidPassword, error.SqlState);
        Assert.Equal("authentication failed for user \"alice\"", error.MessageText);
    }

    [Fact(Timeout = 60_000)]
    public async Task Token_of_another_subject_is_28P01()
    {
        await using var wire = WireProxyHarness.Start(fixture);

        var error = await Assert.ThrowsAsync<PostgresException>(() => wire.OpenClientAsync(b => b.Username = "bob"));

        Assert.Equal(PostgresErrorCodes.InvalidPassword, error.SqlState);
        Assert.Equal("authentication failed for user \"bob\"", error.MessageText);
    }

    [Fact(Timeout = 60_000)]
    public async Task Unknown_target_is_3D000()
    {
        await using var wire = WireProxyHarness.Start(fixture);

        var error = await Assert.ThrowsAsync<PostgresException>(() => wire.OpenClientAsync(b => b.Database = "nope"));

        Assert.Equal(PostgresErrorCodes.InvalidCatalogName, error.SqlState);
        Assert.Contains("nope", error.MessageText, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Unreachable_upstream_is_08006_with_a_clear_message()
    {
        var closedPort = ClosedPort();
        await using var wire = WireProxyHarness.Start(fixture, options =>
        {
            options.Targets.Clear();
            options.Targets.Add(WireProxyHarness.Target(fixture, port: closedPort));
        });

        var error = await Assert.ThrowsAsync<PostgresException>(() => wire.OpenClientAsync());

        Assert.Equal(PostgresErrorCodes.ConnectionFailure, error.SqlState);
        Assert.Contains("app", error.MessageText, StringComparison.Ordinal);
        Assert.Contains("unreachable", error.MessageText, StringComparison.OrdinalIgnoreCase);
    }

    [Fact(Timeout = 60_000)]
    public async Task Client_tls_verify_full_works()
    {
        await using var wire = WireProxyHarness.Start(fixture, options => options.ServerCertificate = fixture.ServerCertificate.Certificate);

        await using var connection = await wire.OpenClientAsync(b =>
        {
            b.SslMode = SslMode.VerifyFull;
            b.RootCertificate = fixture.CaPemPath;
        });

        Assert.Equal(1, await Direct.ScalarAsync<int>(connection, "SELECT 1"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Client_tls_against_another_ca_is_refused_by_the_client()
    {
        var otherCa = Path.Combine(Path.GetTempPath(), $"wire-other-ca-{Guid.NewGuid():N}.pem");
        TestCertificates.Other.WritePem(otherCa);
        try
        {
            await using var wire = WireProxyHarness.Start(fixture, options => options.ServerCertificate = fixture.ServerCertificate.Certificate);

            await Assert.ThrowsAnyAsync<NpgsqlException>(() => wire.OpenClientAsync(b =>
            {
                b.SslMode = SslMode.VerifyFull;
                b.RootCertificate = otherCa;
            }));

            // The listener is fine afterwards.
            await using var connection = await wire.OpenClientAsync(b => b.SslMode = SslMode.Require);
            Assert.Equal(1, await Direct.ScalarAsync<int>(connection, "SELECT 1"));
        }
        finally
        {
            File.Delete(otherCa);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Tls_required_refuses_a_plain_client_with_28000()
    {
        await using var wire = WireProxyHarness.Start(fixture, options =>
        {
            options.ServerCertificate = fixture.ServerCertificate.Certificate;
            options.TlsRequired = true;
        });

        var error = await Assert.ThrowsAsync<PostgresException>(() => wire.OpenClientAsync(b => b.SslMode = SslMode.Disable));
        Assert.Equal(PostgresErrorCodes.InvalidAuthorizationSpecification, error.SqlState);

        await using var connection = await wire.OpenClientAsync(b =>
        {
            b.SslMode = SslMode.VerifyFull;
            b.RootCertificate = fixture.CaPemPath;
        });
        Assert.Equal(1, await Direct.ScalarAsync<int>(connection, "SELECT 1"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Direct_tls_negotiation_works()
    {
        await using var wire = WireProxyHarness.Start(fixture, options => options.ServerCertificate = fixture.ServerCertificate.Certificate);

        await using var connection = await wire.OpenClientAsync(b =>
        {
            b.SslMode = SslMode.VerifyFull;
            b.SslNegotiation = SslNegotiation.Direct;
            b.RootCertificate = fixture.CaPemPath;
        });

        Assert.Equal(2, await Direct.ScalarAsync<int>(connection, "SELECT 2"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Psql_over_tls_through_wire_works()
    {
        await using var wire = WireProxyHarness.Start(fixture, options =>
        {
            options.ServerCertificate = fixture.ServerCertificate.Certificate;
            options.TlsRequired = true;
        });

        var result = await wire.RunPsqlAsync(
            ["-X", "-A", "-t", "-c", "select 'over tls'"],
            env: new Dictionary<string, string> { ["PGSSLMODE"] = "verify-full", ["PGSSLROOTCERT"] = fixture.CaPemPath });

        Assert.True(result.ExitCode == 0, result + Environment.NewLine + wire.Logs);
        Assert.Equal("over tls\n", result.StandardOutput);
    }

    [Fact(Timeout = 60_000)]
    public async Task Replication_startup_is_0A000()
    {
        await using var wire = WireProxyHarness.Start(fixture);
        await using var replication = new LogicalReplicationConnection(wire.ClientBuilder().ConnectionString);

        var error = await Assert.ThrowsAsync<PostgresException>(() => replication.Open());

        Assert.Equal(PostgresErrorCodes.FeatureNotSupported, error.SqlState);
    }

    [Fact(Timeout = 60_000)]
    public async Task Psql_replication_database_is_refused()
    {
        await using var wire = WireProxyHarness.Start(fixture);

        var result = await wire.RunPsqlAsync(["-X", "-A", "-t", "-c", "IDENTIFY_SYSTEM", "dbname=app replication=database"]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("replication connections are not supported", result.StandardError, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Protocol_3_2_with_pq_option_gets_negotiate_protocol_version_then_logs_in()
    {
        await using var wire = WireProxyHarness.Start(fixture);
        await using var client = await RawPgClient.ConnectAsync(wire.Port);

        await client.SendAsync(RawPgClient.Startup(
            RawPgClient.StartupParameters(extra: new KeyValuePair<string, string>("_pq_.foo", "bar")),
            version: 0x00030002));

        var negotiate = await client.ReadMessageAsync();
        Assert.NotNull(negotiate);
        Assert.Equal('v', negotiate.Tag);
        Assert.Equal(0, negotiate.Int32At(0)); // newest minor version supported: 3.0
        Assert.Equal(1, negotiate.Int32At(4)); // one option not recognized
        Assert.Equal(RawPgClient.CString("_pq_.foo"), negotiate.Body[8..]);

        var auth = await client.ReadMessageAsync();
        Assert.NotNull(auth);
        Assert.Equal('R', auth.Tag);
        Assert.Equal(3, auth.Int32At(0)); // AuthenticationCleartextPassword

        await client.SendAsync(RawPgClient.Password(WireProxyHarness.Token));
        var login = await client.ReadUntilAsync('Z');
        Assert.DoesNotContain(login, m => m.Tag == 'E');
        Assert.Contains(login, m => m.Tag == 'R' && m.Int32At(0) == 0);
        Assert.Contains(login, m => m.Tag == 'K');

        await client.SendAsync(RawPgClient.Query("SELECT 'v3.0'"));
        var answer = await client.ReadUntilAsync('Z');
        Assert.Contains(answer, m => m.Tag == 'D');
        Assert.DoesNotContain(answer, m => m.Tag == 'E');
    }

    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
