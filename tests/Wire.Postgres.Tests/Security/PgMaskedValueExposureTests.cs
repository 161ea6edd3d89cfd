using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Testing;
using static Wire.Testing.MaskedValues;

namespace Wire.Postgres.Tests.Security;

/// <summary>
/// Security checklist (docs/security.md), PostgreSQL: a value a mask rule hides never reaches the client, the gateway's
/// log (at trace level), its metrics, its recordings or the admin API's view of them. The values (an SSN, an email, a
/// Luhn-valid card number) sit in masked columns, in a free-text column the detectors scan, in a computed column, in
/// a bound parameter, in an error message and in a notice, and in the statement text itself.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PgMaskedValueExposureTests(PostgresFixture pg) : IDisposable
{
    private const string Token = "tok-pg-mask-alice-9d2f";
    private const string AdminToken = "tok-pg-mask-admin-4b7e";
    private readonly string _directory = Directory.CreateTempSubdirectory("wire-pg-masked-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Masked_values_never_reach_the_client_the_log_the_metrics_the_recordings_or_the_admin_api()
    {
        string table = "sec_pii_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        using (var direct = pg.OpenDirect(PostgresFixture.ScramUser, pg.ScramPassword))
        {
            await using var create = new NpgsqlCommand(
                $"CREATE TABLE {table} (id int, ssn text, email text, note text); "
                + $"INSERT INTO {table} VALUES (1, '{Ssn}', '{Email}', 'card {Card} on file')", direct);
            await create.ExecuteNonQueryAsync();
        }

        int port = TlsProbe.FreePort();
        int admin = TlsProbe.FreePort();
        File.WriteAllText(Path.Combine(_directory, "db.pw"), pg.ScramPassword);
        File.WriteAllText(Path.Combine(_directory, "recording.key"), "pg-masked-recording-key-5e8a1c3f9d7b2046");
        await using var wire = await WireRun.StartAsync(_directory, $$"""
            {
              "identity": { "tokens": [
                { "token": "{{Token}}", "subject": "alice", "groups": ["eng"] },
                { "token": "{{AdminToken}}", "subject": "root", "groups": ["admin"] } ] },
              "postgres": {
                "listen": "127.0.0.1:{{port}}",
                "targets": [ { "name": "app", "host": "127.0.0.1", "port": {{pg.Port}}, "database": "app",
                               "username": "{{PostgresFixture.ScramUser}}", "password": "file:db.pw", "sslMode": "disable" } ]
              },
              "rules": [ { "name": "pii", "action": "mask", "columns": ["public.{{table}}.ssn", "public.{{table}}.email"],
                           "detectors": ["ssn", "email", "card"], "detectorScope": "all" } ],
              {{WireRun.Observed(admin)}}
            }
            """, "Listening for postgres", WireRun.AdminListening);
        await using var tap = TcpTap.Start(port);

        var seen = new List<string>();
        await using (var conn = new NpgsqlConnection(
            $"Host=127.0.0.1;Port={tap.Port};Username=alice;Password={Token};Database=app;Pooling=false;SSL Mode=Disable;Timeout=10;Command Timeout=10"))
        {
            conn.Notice += (_, e) => seen.Add("notice: " + e.Notice.MessageText);
            await conn.OpenAsync();
            await using (var select = new NpgsqlCommand($"SELECT ssn, email, note FROM {table}", conn))
            await using (var reader = await select.ExecuteReaderAsync())
            {
                Assert.True(await reader.ReadAsync());
                seen.AddRange([reader.GetString(0), reader.GetString(1), reader.GetString(2)]);
            }
            seen.Add((string)(await ScalarAsync(conn, $"SELECT 'ssn ' || ssn || ' mail ' || email FROM {table}"))!);
            seen.Add((string)(await ScalarAsync(conn, $"SELECT 'typed {Ssn} {Email} {Card}'"))!);
            await using (var bound = new NpgsqlCommand("SELECT 'bound ' || $1::text", conn))
            {
                bound.Parameters.AddWithValue($"{Ssn} {Card}");
                seen.Add((string)(await bound.ExecuteScalarAsync())!);
            }
            var error = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync(conn, $"SELECT '{Ssn}'::int"));
            seen.Add("error: " + error.MessageText);
            await ScalarAsync(conn, $"DO $$ BEGIN RAISE NOTICE 'card % for %', '{Card}', '{Email}'; END $$");
        }

        // The client saw the rows, masked (lengths kept), and each place where a value was.
        Assert.Equal(8, seen.Count);
        Assert.Equal(Stars(Ssn), seen[0]);
        Assert.Equal(Stars(Email), seen[1]);
        Assert.Equal($"card {Stars(Card)} on file", seen[2]);
        Assert.All(seen, s => Assert.Matches(new Regex(@"\*{11}"), s));

        string recordings = Path.Combine(_directory, "recordings");
        Assert.True(
            await Eventually.WaitAsync(() => SecretScan.CompleteRecordings(recordings) >= 1), "a complete recording\n" + wire.Output);
        var (adminEvidence, listed) = await SecretScan.AdminAsync(admin, AdminToken);
        Assert.Equal(1, listed);
        string metrics = Encoding.UTF8.GetString(adminEvidence.Single(e => e.Where == "GET /metrics").Bytes);
        Assert.Matches(new Regex("^wire_masked_total\\{[^}]*network_protocol_name=\"postgresql\"[^}]*\\} [1-9]", RegexOptions.Multiline), metrics);
        string recording = File.ReadAllText(Directory.GetFiles(recordings, "*.jsonl").Single());
        Assert.Contains($"typed {Stars(Ssn)}", recording, StringComparison.Ordinal);

        Secret[] values = Secrets();
        Assert.NotEmpty(SecretScan.Findings(SecretScan.Streams("client to Wire", tap.FromClient), values));
        SecretScan.AssertNoneIn(SecretScan.Gateway(wire.Output, recordings, adminEvidence, tap), values);

        using var cleanup = pg.OpenDirect(PostgresFixture.ScramUser, pg.ScramPassword);
        await using var drop = new NpgsqlCommand($"DROP TABLE {table}", cleanup);
        await drop.ExecuteNonQueryAsync();
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection conn, string sql)
    {
        await using var command = new NpgsqlCommand(sql, conn);
        return await command.ExecuteScalarAsync();
    }
}
