using System.Security.Cryptography;
using System.Text;
using Npgsql;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Testing;

namespace Wire.Postgres.Tests.Security;

/// <summary>
/// Security checklist (docs/security.md), PostgreSQL: the upstream credentials Wire holds never reach the client, and
/// neither they nor any client token reach the gateway's log (at trace level), its recordings or its admin API. Npgsql
/// talks to <c>wire run</c> through a <see cref="TcpTap"/> that keeps every byte Wire sends it, over one target per upstream
/// authentication method (SCRAM-SHA-256, MD5, cleartext password, SCRAM over TLS) plus a target whose configured
/// password the server refuses, with successful and failed logins, results, errors, notices, ParameterStatus, a
/// notification and a denied statement.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PgSecretExposureTests(PostgresFixture pg) : IDisposable
{
    private const string AliceToken = "tok-pg-alice-Q7vLr2mZ";
    private const string AdminToken = "tok-pg-admin-K3pW9xYe";
    private const string BadToken = "tok-pg-wrong-H5nC8tJd";
    private const string AdminBadToken = "tok-pg-admin-bad-U2fR6sAq";
    private const string WrongPassword = "Wrong-Upstream-Pw-7c1e9f04b2d8";
    private const string RecordingKey = "pg-security-recording-key-0f3a9c5e7b1d2468ace0";
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private readonly string _directory = Directory.CreateTempSubdirectory("wire-pg-secrets-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Upstream_passwords_and_tokens_never_reach_the_client_the_log_the_recordings_or_the_admin_api()
    {
        int port = TlsProbe.FreePort();
        int admin = TlsProbe.FreePort();
        File.WriteAllText(Path.Combine(_directory, "scram.pw"), pg.ScramPassword + "\n");
        File.WriteAllText(Path.Combine(_directory, "md5.pw"), pg.Md5Password);
        File.WriteAllText(Path.Combine(_directory, "tls.pw"), pg.TlsOnlyPassword);
        File.WriteAllText(Path.Combine(_directory, "recording.key"), RecordingKey);
        string Target(string name, string user, string password, string sslMode = "disable") =>
            $$"""{ "name": "{{name}}", "host": "127.0.0.1", "port": {{pg.Port}}, "database": "app", "username": "{{user}}", "password": "{{password}}", "sslMode": "{{sslMode}}" }""";
        await using var wire = await WireRun.StartAsync(_directory, $$"""
            {
              "identity": { "tokens": [
                { "token": "{{AliceToken}}", "subject": "alice", "groups": ["eng"] },
                { "token": "{{AdminToken}}", "subject": "root", "groups": ["admin"] } ] },
              "postgres": {
                "listen": "127.0.0.1:{{port}}",
                "targets": [
                  {{Target("scram", PostgresFixture.ScramUser, "file:scram.pw")}},
                  {{Target("md5", PostgresFixture.Md5User, "file:md5.pw")}},
                  {{Target("cleartext", PostgresFixture.CleartextUser, pg.CleartextPassword)}},
                  {{Target("tls", PostgresFixture.TlsOnlyUser, "file:tls.pw", "require")}},
                  {{Target("wrong", PostgresFixture.ScramUser, WrongPassword)}}
                ]
              },
              "rules": [ { "name": "no-drop", "action": "deny", "statements": ["drop"] } ],
              {{WireRun.Observed(admin)}}
            }
            """, "Listening for postgres", WireRun.AdminListening);
        await using var tap = TcpTap.Start(port);

        var notices = new List<string>();
        foreach (string target in (string[])["scram", "md5", "cleartext", "tls"])
        {
            await using var conn = new NpgsqlConnection(ConnectionString(tap.Port, AliceToken, target));
            conn.Notice += (_, e) => notices.Add(e.Notice.MessageText);
            await conn.OpenAsync();
            Assert.Equal(UserOf(target), await ScalarAsync(conn, "SELECT current_user"));
            await ScalarAsync(conn, "SELECT string_agg(name || '=' || setting, ',') FROM pg_settings");
            await ScalarAsync(conn, "SET application_name = 'security-check'; SELECT 1");
            Assert.Equal("security-check", (await ScalarAsync(conn, "SHOW application_name"))?.ToString());
            await ScalarAsync(conn, "DO $$ BEGIN RAISE NOTICE 'notice for %', current_user; END $$");
            var notified = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            conn.Notification += (_, e) => notified.TrySetResult(e.Payload);
            await ScalarAsync(conn, "LISTEN wire_security; NOTIFY wire_security, 'payload'");
            Assert.Equal("payload", await notified.Task.WaitAsync(Limit));
            await using (var parameterized = new NpgsqlCommand("SELECT $1::text || current_user", conn))
            {
                parameterized.Parameters.AddWithValue("value");
                Assert.Equal("value" + UserOf(target), await parameterized.ExecuteScalarAsync());
            }
            Assert.Equal("22012", (await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync(conn, "SELECT 1/0"))).SqlState);
            Assert.Equal("42601", (await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync(conn, "SELEC password"))).SqlState);
            Assert.Equal("42501", (await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync(conn, "SELECT rolpassword FROM pg_authid"))).SqlState);
            Assert.Equal("42501", (await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync(conn, "DROP TABLE nothing_here"))).SqlState);
        }
        Assert.Equal(4, notices.Count);

        // Refused logins: an unknown token, an unknown target, and a target whose configured password the server refuses.
        Assert.Equal("28P01", (await Assert.ThrowsAsync<PostgresException>(() => OpenAsync(tap.Port, BadToken, "scram"))).SqlState);
        Assert.Equal("3D000", (await Assert.ThrowsAsync<PostgresException>(() => OpenAsync(tap.Port, AliceToken, "nowhere"))).SqlState);
        var upstreamRefused = await Assert.ThrowsAnyAsync<NpgsqlException>(() => OpenAsync(tap.Port, AliceToken, "wrong"));
        Assert.DoesNotContain(WrongPassword, upstreamRefused.Message, StringComparison.Ordinal);

        // The admin API's 401 path, with a token it does not know.
        using (var http = AdminApi.Client(admin))
        {
            using var refused = await AdminApi.SendAsync(http, HttpMethod.Get, "/api/sessions", AdminBadToken);
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        // Every recording complete (4 sessions at least), then everything Wire showed anyone.
        string recordings = Path.Combine(_directory, "recordings");
        Assert.True(await Eventually.WaitAsync(() => SecretScan.CompleteRecordings(recordings) >= 4),
            $"{SecretScan.CompleteRecordings(recordings)} complete recordings\n{wire.Output}");
        var (adminEvidence, listed) = await SecretScan.AdminAsync(admin, AdminToken);
        Assert.True(listed >= 4, $"the admin API lists {listed} recordings");

        Secret[] secrets =
        [
            new("the SCRAM role's password", pg.ScramPassword),
            new("the MD5 role's password", pg.Md5Password),
            new("the MD5 role's stored hash", MD5.HashData(Encoding.UTF8.GetBytes(pg.Md5Password + PostgresFixture.Md5User))),
            new("the cleartext role's password", pg.CleartextPassword),
            new("the TLS-only role's password", pg.TlsOnlyPassword),
            new("the refused upstream password", WrongPassword),
            new("the recording key", RecordingKey),
            new("alice's token", AliceToken),
            new("the admin's token", AdminToken),
            new("the unknown token", BadToken),
            new("the token the admin API refused", AdminBadToken),
        ];
        // The capture is real: the tap saw the sessions, and the scan finds what the clients themselves sent.
        Assert.True(tap.Connections >= 7, $"{tap.Connections} connections through the tap");
        string toClient = Encoding.UTF8.GetString(tap.ToClient.SelectMany(b => b).ToArray());
        foreach (string expected in (string[])["security-check", "notice for", "payload", "denied by rule no-drop", "division by zero"])
        {
            Assert.Contains(expected, toClient, StringComparison.Ordinal);
        }
        Assert.Equal(
            ["alice's token", "the unknown token"],
            SecretScan.Findings(SecretScan.Streams("client to Wire", tap.FromClient), secrets).Select(f => f[..f.IndexOf(" (", StringComparison.Ordinal)]).Distinct().Order());

        SecretScan.AssertNoneIn(SecretScan.Gateway(wire.Output, recordings, adminEvidence, tap), secrets);
    }

    private static string UserOf(string target) => target switch
    {
        "scram" => PostgresFixture.ScramUser,
        "md5" => PostgresFixture.Md5User,
        "cleartext" => PostgresFixture.CleartextUser,
        _ => PostgresFixture.TlsOnlyUser,
    };

    private static string ConnectionString(int port, string token, string database) =>
        $"Host=127.0.0.1;Port={port};Username=alice;Password={token};Database={database};Pooling=false;SSL Mode=Disable;Timeout=10;Command Timeout=10";

    private static async Task OpenAsync(int port, string token, string database)
    {
        await using var conn = new NpgsqlConnection(ConnectionString(port, token, database));
        await conn.OpenAsync();
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection conn, string sql)
    {
        await using var command = new NpgsqlCommand(sql, conn);
        return await command.ExecuteScalarAsync();
    }
}
