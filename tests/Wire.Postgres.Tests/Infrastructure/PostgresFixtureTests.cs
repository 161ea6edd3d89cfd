using Wire.Testing;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using Npgsql;
using Wire.Gateway.Demo;

namespace Wire.Postgres.Tests.Infrastructure;

[Collection(PostgresCollection.Name)]
public sealed class PostgresFixtureTests(PostgresFixture fixture)
{
    [Theory]
    [InlineData(PostgresFixture.ScramUser)]
    [InlineData(PostgresFixture.Md5User)]
    [InlineData(PostgresFixture.CleartextUser)]
    public async Task Password_roles_log_in_without_tls(string user)
    {
        await using var connection = fixture.OpenDirect(user, PasswordOf(user), sslMode: SslMode.Disable);

        Assert.Equal(1, await ScalarAsync<int>(connection, "SELECT 1"));
        Assert.Equal(user, await ScalarAsync<string>(connection, "SELECT current_user"));
        Assert.False(await ScalarAsync<bool>(connection, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"));
    }

    [Fact]
    public async Task Md5_role_has_an_md5_stored_password()
    {
        var stored = await fixture.Server.PsqlAsync(
            $"SELECT left(rolpassword, 3) FROM pg_authid WHERE rolname = '{PostgresFixture.Md5User}'");

        Assert.Equal("md5", stored.Trim());
    }

    [Fact]
    public async Task Scram_role_logs_in_over_tls_verified_against_the_test_ca()
    {
        await using var connection = fixture.OpenDirect(PostgresFixture.ScramUser, fixture.ScramPassword, sslMode: SslMode.VerifyFull);

        Assert.True(await ScalarAsync<bool>(connection, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"));
        Assert.Equal(1, await ScalarAsync<int>(connection, "SELECT 1"));
    }

    [Fact]
    public async Task Tls_only_role_logs_in_with_tls_and_is_rejected_without()
    {
        await using (var connection = fixture.OpenDirect(PostgresFixture.TlsOnlyUser, fixture.TlsOnlyPassword, sslMode: SslMode.Require))
        {
            Assert.Equal(1, await ScalarAsync<int>(connection, "SELECT 1"));
        }

        var rejected = Assert.Throws<PostgresException>(
            () => fixture.OpenDirect(PostgresFixture.TlsOnlyUser, fixture.TlsOnlyPassword, sslMode: SslMode.Disable));
        Assert.Equal(PostgresErrorCodes.InvalidAuthorizationSpecification, rejected.SqlState);
    }

    [Fact]
    public void Wrong_password_is_rejected()
    {
        var rejected = Assert.Throws<PostgresException>(
            () => fixture.OpenDirect(PostgresFixture.ScramUser, "not-the-password", sslMode: SslMode.Disable));

        Assert.Equal(PostgresErrorCodes.InvalidPassword, rejected.SqlState);
    }

    [Fact]
    public void Server_certificate_does_not_verify_against_another_ca()
    {
        var otherCaPath = Path.Combine(Path.GetDirectoryName(fixture.CaPemPath)!, "other-ca.pem");
        TestCertificates.Other.WritePem(otherCaPath);
        var builder = new NpgsqlConnectionStringBuilder(
            fixture.ConnectionString(PostgresFixture.ScramUser, fixture.ScramPassword, sslMode: SslMode.VerifyCA))
        {
            RootCertificate = otherCaPath,
        };

        using var connection = new NpgsqlConnection(builder.ConnectionString);
        var failure = Assert.ThrowsAny<NpgsqlException>(connection.Open);
        Assert.IsType<AuthenticationException>(failure.InnerException);
    }

    [Fact]
    public void Test_certificates_chain_to_their_own_ca_only()
    {
        using var leaf = TestCertificates.Shared.IssueServerCertificate();

        Assert.True(leaf.Certificate.HasPrivateKey);
        Assert.True(leaf.Certificate.MatchesHostname("localhost"));
        Assert.True(leaf.Certificate.MatchesHostname("127.0.0.1"));
        Assert.True(Chains(leaf.Certificate, TestCertificates.Shared));
        Assert.False(Chains(leaf.Certificate, TestCertificates.Other));
    }

    [Fact]
    public async Task Psql_runs_sql_and_reports_errors()
    {
        Assert.Equal("1", (await fixture.Server.PsqlAsync("SELECT 1")).Trim());
        Assert.Equal("app", (await fixture.Server.PsqlAsync("SELECT current_database()", PostgresFixture.Database)).Trim());

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => fixture.Server.PsqlAsync("SELECT * FROM no_such_table"));
        Assert.Contains("no_such_table", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Server_reports_its_layout()
    {
        var server = fixture.Server;

        Assert.Equal("127.0.0.1", server.Host);
        Assert.InRange(server.Port, 1, 65535);
        Assert.Equal("wire_admin", server.SuperUser);
        Assert.True(File.Exists(Path.Combine(server.DataDirectory, "PG_VERSION")));
        Assert.True(File.Exists(Path.Combine(server.BinDirectory, "pg_ctl")));
        Assert.True(File.Exists(server.LogFile));
        Assert.Contains($"Port={server.Port}", server.ConnectionString("app", "u", "p"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_data_seeds_customers_with_valid_looking_sensitive_values()
    {
        const string Owner = "wire_demo";
        const string Password = "demo-Passw0rd";
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await DemoData.SeedAsync(fixture.Server, Owner, Password, cts.Token);

        // The owner logs in with its SCRAM password (the fixture's catch-all hba line) and owns the tables.
        await using var connection = fixture.OpenDirect(Owner, Password, DemoData.DatabaseName, SslMode.Disable);
        Assert.Equal(200L, await ScalarAsync<long>(connection, "SELECT count(*) FROM customers"));
        Assert.InRange(await ScalarAsync<long>(connection, "SELECT count(*) FROM orders"), 900L, 1100L);
        Assert.Equal(0L, await ScalarAsync<long>(connection,
            "SELECT count(*) FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE c.id IS NULL"));
        Assert.Equal(Owner, await ScalarAsync<string>(connection,
            "SELECT tableowner FROM pg_tables WHERE tablename = 'customers'"));

        var ssn = new Regex(@"^(\d{3})-(\d{2})-(\d{4})$");
        var email = new Regex(@"^[a-z]+\.[a-z]+@example\.com$");
        var phone = new Regex(@"^\+1-\d{3}-555-01\d{2}$");
        var card = new Regex(@"^(4\d{3}|5[1-5]\d{2})( ?\d{4}){3}$");
        var rows = 0;
        await using (var command = new NpgsqlCommand("SELECT full_name, email, phone, ssn, card_number FROM customers", connection))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                rows++;
                Assert.Contains(" ", reader.GetString(0), StringComparison.Ordinal);
                Assert.Matches(email, reader.GetString(1));
                if (!reader.IsDBNull(2))
                {
                    Assert.Matches(phone, reader.GetString(2));
                }

                var ssnMatch = ssn.Match(reader.GetString(3));
                Assert.True(ssnMatch.Success, reader.GetString(3));
                var area = int.Parse(ssnMatch.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                Assert.True(area is > 0 and < 900 and not 666, $"SSN area {area}");
                Assert.NotEqual("00", ssnMatch.Groups[2].Value);
                Assert.NotEqual("0000", ssnMatch.Groups[3].Value);

                var cardNumber = reader.GetString(4);
                Assert.Matches(card, cardNumber);
                Assert.True(IsLuhnValid(cardNumber), cardNumber);
            }
        }

        Assert.Equal(200, rows);

        // Deterministic: a second seeding yields the same rows.
        const string Digest = "SELECT md5(string_agg(c::text, ',' ORDER BY c.id)) FROM customers c";
        var before = await fixture.Server.PsqlAsync(Digest, DemoData.DatabaseName, cts.Token);
        await DemoData.SeedAsync(fixture.Server, Owner, Password, cts.Token);
        var after = await fixture.Server.PsqlAsync(Digest, DemoData.DatabaseName, cts.Token);
        Assert.Equal(before, after);
    }

    // Independent of DemoData.IsLuhnValid so a bug there cannot hide itself.
    private static bool IsLuhnValid(string number)
    {
        var digits = number.Replace(" ", string.Empty, StringComparison.Ordinal);
        var sum = 0;
        for (var i = 0; i < digits.Length; i++)
        {
            var d = digits[digits.Length - 1 - i] - '0';
            sum += i % 2 == 1 ? (d * 2 > 9 ? d * 2 - 9 : d * 2) : d;
        }

        return digits.Length == 16 && sum % 10 == 0;
    }

    private static bool Chains(X509Certificate2 leaf, TestCertificates ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca.Certificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }

    private string PasswordOf(string user) => user switch
    {
        PostgresFixture.ScramUser => fixture.ScramPassword,
        PostgresFixture.Md5User => fixture.Md5Password,
        PostgresFixture.CleartextUser => fixture.CleartextPassword,
        PostgresFixture.TlsOnlyUser => fixture.TlsOnlyPassword,
        _ => throw new ArgumentOutOfRangeException(nameof(user), user, null),
    };

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
