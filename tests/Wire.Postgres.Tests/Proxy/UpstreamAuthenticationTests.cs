using Wire.Testing;
using Npgsql;
using Wire.Postgres.Proxy;
using Wire.Postgres.Tests.Infrastructure;

namespace Wire.Postgres.Tests.Proxy;

/// <summary>Wire's own login to the target: every password method, TLS modes, verification, failures.</summary>
[Collection(PostgresCollection.Name)]
public sealed class UpstreamAuthenticationTests(PostgresFixture fixture)
{
    [Theory(Timeout = 60_000)]
    [InlineData(PostgresFixture.ScramUser)]
    [InlineData(PostgresFixture.Md5User)]
    [InlineData(PostgresFixture.CleartextUser)]
    public async Task Each_password_method_logs_in(string user)
    {
        await using var wire = StartWith(WireProxyHarness.Target(fixture, user: user));
        await using var connection = await wire.OpenClientAsync();

        Assert.Equal(user, await Direct.ScalarAsync<string>(connection, "SELECT current_user"));
        Assert.False(await Direct.ScalarAsync<bool>(connection, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Require_uses_tls_with_scram()
    {
        await using var wire = StartWith(WireProxyHarness.Target(fixture, sslMode: PgSslMode.Require));
        await using var connection = await wire.OpenClientAsync();

        Assert.True(await Direct.ScalarAsync<bool>(connection, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"));
        Assert.Equal(PostgresFixture.ScramUser, await Direct.ScalarAsync<string>(connection, "SELECT current_user"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Prefer_uses_tls_when_the_server_offers_it()
    {
        await using var wire = StartWith(WireProxyHarness.Target(fixture, sslMode: PgSslMode.Prefer));
        await using var connection = await wire.OpenClientAsync();

        Assert.True(await Direct.ScalarAsync<bool>(connection, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Verify_full_against_the_fixture_ca_works()
    {
        var target = WireProxyHarness.Target(fixture, sslMode: PgSslMode.VerifyFull, host: "localhost");
        target.SslRootCertificates.Add(fixture.Ca.Certificate);
        await using var wire = StartWith(target);
        await using var connection = await wire.OpenClientAsync();

        Assert.True(await Direct.ScalarAsync<bool>(connection, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Verify_full_against_another_ca_fails_with_08006()
    {
        var target = WireProxyHarness.Target(fixture, sslMode: PgSslMode.VerifyFull, host: "localhost");
        target.SslRootCertificates.Add(TestCertificates.Other.Certificate);
        await using var wire = StartWith(target);

        var error = await Assert.ThrowsAsync<PostgresException>(() => wire.OpenClientAsync());
        Assert.Equal(PostgresErrorCodes.ConnectionFailure, error.SqlState);
        Assert.Contains("certificate", error.MessageText, StringComparison.OrdinalIgnoreCase);
    }

    [Fact(Timeout = 60_000)]
    public async Task Tls_only_role_works_with_require()
    {
        await using var wire = StartWith(WireProxyHarness.Target(fixture, user: PostgresFixture.TlsOnlyUser, sslMode: PgSslMode.Require));
        await using var connection = await wire.OpenClientAsync();

        Assert.Equal(PostgresFixture.TlsOnlyUser, await Direct.ScalarAsync<string>(connection, "SELECT current_user"));
        Assert.True(await Direct.ScalarAsync<bool>(connection, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Tls_only_role_fails_with_disable_as_08006()
    {
        await using var wire = StartWith(WireProxyHarness.Target(fixture, user: PostgresFixture.TlsOnlyUser, sslMode: PgSslMode.Disable));

        var error = await Assert.ThrowsAsync<PostgresException>(() => wire.OpenClientAsync());
        Assert.Equal(PostgresErrorCodes.ConnectionFailure, error.SqlState);
        AssertReveals(error, nothingOf: [PostgresFixture.TlsOnlyUser, fixture.TlsOnlyPassword]);
    }

    [Fact(Timeout = 60_000)]
    public async Task Wrong_upstream_password_gives_08006_without_leaking_the_credential()
    {
        const string WrongPassword = "Wr0ngUpstreamSecret";
        await using var wire = StartWith(WireProxyHarness.Target(fixture, password: WrongPassword));

        var error = await Assert.ThrowsAsync<PostgresException>(() => wire.OpenClientAsync());
        Assert.Equal(PostgresErrorCodes.ConnectionFailure, error.SqlState);
        AssertReveals(error, nothingOf: [WrongPassword, PostgresFixture.ScramUser, fixture.ScramPassword]);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(PostgresFixture.Md5User)]
    [InlineData(PostgresFixture.CleartextUser)]
    public async Task Wrong_password_for_md5_and_cleartext_gives_08006_without_leaking(string user)
    {
        const string WrongPassword = "An0therWrongSecret";
        await using var wire = StartWith(WireProxyHarness.Target(fixture, user: user, password: WrongPassword));

        var error = await Assert.ThrowsAsync<PostgresException>(() => wire.OpenClientAsync());
        Assert.Equal(PostgresErrorCodes.ConnectionFailure, error.SqlState);
        AssertReveals(error, nothingOf: [WrongPassword, user]);
    }

    private WireProxyHarness StartWith(PgTargetOptions target) => WireProxyHarness.Start(fixture, options =>
    {
        options.Targets.Clear();
        options.Targets.Add(target);
    });

    private static void AssertReveals(PostgresException error, string[] nothingOf)
    {
        string[] texts = [error.MessageText, error.Detail ?? "", error.Hint ?? "", error.Where ?? "", error.ToString()];
        foreach (var secret in nothingOf)
        {
            foreach (var text in texts)
            {
                Assert.False(text.Contains(secret, StringComparison.Ordinal), $"the client's error reveals \"{secret}\": {text}");
            }
        }
    }
}
