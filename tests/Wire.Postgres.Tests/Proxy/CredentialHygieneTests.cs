using System.Text;
using Npgsql;
using Wire.Postgres.Tests.Infrastructure;

namespace Wire.Postgres.Tests.Proxy;

/// <summary>The credential Wire holds for the target never reaches the client.</summary>
[Collection(PostgresCollection.Name)]
public sealed class CredentialHygieneTests(PostgresFixture fixture)
{
    [Fact(Timeout = 90_000)]
    public async Task Nothing_wire_sends_to_the_client_contains_the_upstream_password_or_user()
    {
        await using var wire = WireProxyHarness.Start(fixture);
        await using var relay = RecordingRelay.Start(wire.Port);

        await using (var connection = await wire.OpenClientAsync(b => b.Port = relay.Port))
        {
            await Direct.ScalarAsync<string>(connection, "SELECT version()");
            await Direct.ScalarAsync<string>(connection, "SELECT current_database()");
            await using (var prepared = new NpgsqlCommand("SELECT $1::int + 1", connection) { Parameters = { new() { Value = 41 } } })
            {
                await prepared.PrepareAsync();
                Assert.Equal(42, (int)(await prepared.ExecuteScalarAsync())!);
            }

            await Assert.ThrowsAsync<PostgresException>(() => Direct.ScalarAsync<int>(connection, "SELECT 1 / 0"));
            await Assert.ThrowsAsync<PostgresException>(() => Direct.ScalarAsync<int>(connection, "SELECT * FROM no_such_table"));
            await Direct.ScalarAsync<string>(connection, "SELECT setting FROM pg_settings WHERE name = 'server_version'");
            await Direct.ScalarAsync<bool>(connection, "SELECT pg_notify('hygiene', 'x') IS NULL");
            using (var export = await connection.BeginTextExportAsync("COPY (SELECT g FROM generate_series(1, 100) g) TO STDOUT"))
            {
                await export.ReadToEndAsync();
            }

            await using var tx = await connection.BeginTransactionAsync();
            await Direct.ScalarAsync<int>(connection, "SELECT 7");
            await tx.RollbackAsync();
        }

        // Let the relay see the end of the session.
        await Task.Delay(200);
        var sent = relay.BytesToClient();
        Assert.True(sent.Length > 100, $"only {sent.Length} bytes recorded");

        AssertAbsent(sent, fixture.ScramPassword, "the upstream password");
        AssertAbsent(sent, PostgresFixture.ScramUser, "the upstream user name");
    }

    [Fact(Timeout = 60_000)]
    public async Task Failed_upstream_login_sends_the_client_neither_password_nor_user()
    {
        const string WrongPassword = "Wr0ngButSecretUpstreamPw";
        await using var wire = WireProxyHarness.Start(fixture, options => options.Targets[0].Password = WrongPassword);
        await using var relay = RecordingRelay.Start(wire.Port);

        var error = await Assert.ThrowsAsync<PostgresException>(() => wire.OpenClientAsync(b => b.Port = relay.Port));
        Assert.Equal(PostgresErrorCodes.ConnectionFailure, error.SqlState);

        await Task.Delay(200);
        var sent = relay.BytesToClient();
        AssertAbsent(sent, WrongPassword, "the configured upstream password");
        AssertAbsent(sent, PostgresFixture.ScramUser, "the upstream user name");
    }

    private static void AssertAbsent(byte[] haystack, string secret, string what)
    {
        var needle = Encoding.UTF8.GetBytes(secret);
        var at = haystack.AsSpan().IndexOf(needle);
        if (at < 0)
        {
            return;
        }

        var from = Math.Max(0, at - 48);
        var context = Encoding.UTF8.GetString(haystack, from, Math.Min(haystack.Length - from, needle.Length + 96))
            .Replace('\0', '·');
        Assert.Fail($"Wire sent the client {what} at byte {at} of {haystack.Length}: …{context}…");
    }
}
