using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Npgsql;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Testing;

namespace Wire.Postgres.Tests.Gateway;

/// <summary>
/// Just-in-time grants through <c>wire run</c> with Npgsql against a real PostgreSQL (issue 9): a target that requires a
/// grant refuses a connection without one (28000, DESIGN.md §4); the engineer asks over the admin API, an approver
/// approves, the connection works; at expiry the session ends with 57P01 and new connections are refused again. A rule
/// that requires a grant denies its statements without one (42501). The grant's life and the session's grant are recorded.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class WireGrantTests(PostgresFixture pg) : IDisposable
{
    private const string AliceToken = "tok-alice-grant-31";
    private const string BobToken = "tok-bob-grant-32";
    private const string CarolToken = "tok-carol-grant-33";
    private readonly string _directory = Directory.CreateTempSubdirectory("wire-grants-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task A_grant_opens_a_target_until_it_expires()
    {
        var (wire, port, admin) = await StartAsync();
        await using (wire)
        {
            using var http = AdminApi.Client(admin);

            // Without a grant: the target refuses the connection, the rule refuses the statement.
            var refused = await Assert.ThrowsAsync<PostgresException>(() => OpenAsync(port, "prod"));
            Assert.Equal("28000", refused.SqlState);
            Assert.Contains("no valid grant for target \"prod\"", refused.MessageText, StringComparison.Ordinal);
            await using var app = await OpenAsync(port, "app");
            await ExecuteAsync(app, "CREATE TEMP TABLE t (id int); INSERT INTO t VALUES (1), (2)");
            var denied = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(app, "DELETE FROM t WHERE id = 1"));
            Assert.Equal("42501", denied.SqlState);
            Assert.Contains("deletes-need-grant", denied.MessageText, StringComparison.Ordinal);
            Assert.Contains("no valid grant for target \"app\"", denied.MessageText, StringComparison.Ordinal);

            // Bad requests.
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsJsonAsync("/api/grants", new { target = "prod", duration = "00:00:05", reason = "x" })).StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, (await AskAsync(http, AliceToken, "nope", "00:00:05")).StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, (await AskAsync(http, AliceToken, "prod", "02:00:00")).StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, (await AskAsync(http, AliceToken, "prod", "5 minutes")).StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, (await AskAsync(http, AliceToken, "prod", "00:00:05", reason: "")).StatusCode);
            using (var broken = new HttpRequestMessage(HttpMethod.Post, "/api/grants") { Content = new StringContent("{\"target\":", Encoding.UTF8, "application/json") })
            {
                broken.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AliceToken);
                var response = await http.SendAsync(broken);
                Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            }

            // Asked for: pending, still refused; only an approver who did not ask may approve.
            var asked = await AskAsync(http, AliceToken, "prod", "00:00:06");
            Assert.Equal(HttpStatusCode.Created, asked.StatusCode);
            var grant = await asked.Content.ReadFromJsonAsync<JsonElement>();
            string id = grant.GetProperty("id").GetString()!;
            Assert.Equal("pending", grant.GetProperty("status").GetString());
            Assert.Equal("alice", grant.GetProperty("subject").GetString());
            Assert.Equal("00:00:06", grant.GetProperty("duration").GetString());
            Assert.False(grant.GetProperty("mayDecide").GetBoolean());
            Assert.Equal("28000", (await Assert.ThrowsAsync<PostgresException>(() => OpenAsync(port, "prod"))).SqlState);
            Assert.Equal(HttpStatusCode.Forbidden, (await AdminApi.SendAsync(http, HttpMethod.Post, $"/api/grants/{id}/approve", AliceToken)).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await AdminApi.SendAsync(http, HttpMethod.Post, $"/api/grants/{id}/approve", CarolToken)).StatusCode);
            // carol neither asked nor approves: the grant is not hers to see.
            Assert.Equal(HttpStatusCode.NotFound, (await AdminApi.SendAsync(http, HttpMethod.Get, $"/api/grants/{id}", CarolToken)).StatusCode);
            Assert.Equal(0, (await (await AdminApi.SendAsync(http, HttpMethod.Get, "/api/grants", CarolToken)).Content.ReadFromJsonAsync<JsonElement>()).GetArrayLength());
            var bobsView = await (await AdminApi.SendAsync(http, HttpMethod.Get, "/api/grants", BobToken)).Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(bobsView.EnumerateArray().Single(g => g.GetProperty("id").GetString() == id).GetProperty("mayDecide").GetBoolean());

            var appGrant = await (await AskAsync(http, AliceToken, "app", "00:00:06")).Content.ReadFromJsonAsync<JsonElement>();
            var approved = await AdminApi.SendAsync(http, HttpMethod.Post, $"/api/grants/{id}/approve", BobToken);
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
            var active = await approved.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("active", active.GetProperty("status").GetString());
            Assert.Equal("bob", active.GetProperty("decidedBy").GetString());
            Assert.Equal(HttpStatusCode.OK, (await AdminApi.SendAsync(http, HttpMethod.Post, $"/api/grants/{appGrant.GetProperty("id").GetString()}/approve", BobToken)).StatusCode);
            Assert.Equal(HttpStatusCode.Conflict, (await AdminApi.SendAsync(http, HttpMethod.Post, $"/api/grants/{id}/deny", BobToken)).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await AdminApi.SendAsync(http, HttpMethod.Post, "/api/grants/grant-0000/approve", BobToken)).StatusCode);

            // While it is valid: the target admits alice, and the rule lets her delete.
            await using var prod = await OpenAsync(port, "prod");
            Assert.Equal(1, await ScalarAsync(prod, "SELECT 1"));
            await ExecuteAsync(app, "DELETE FROM t WHERE id = 1");

            // At expiry: the prod session ends with 57P01, new connections are refused, the rule denies again.
            var expired = await AdminApi.WaitForAsync(async () =>
            {
                var state = await (await AdminApi.SendAsync(http, HttpMethod.Get, $"/api/grants/{id}", AliceToken)).Content.ReadFromJsonAsync<JsonElement>();
                return state.GetProperty("status").GetString() == "expired" ? state : (JsonElement?)null;
            });
            Assert.True(expired.TryGetProperty("endedAt", out var endedAt) && endedAt.ValueKind == JsonValueKind.String);
            var ended = await Assert.ThrowsAnyAsync<NpgsqlException>(async () =>
            {
                // The FATAL is read by the next round trip; the connection then breaks.
                for (int i = 0; i < 50; i++)
                {
                    await ScalarAsync(prod, "SELECT 1");
                    await Task.Delay(100);
                }
            });
            var fatal = ended as PostgresException ?? ended.InnerException as PostgresException;
            Assert.True(fatal is not null, ended.ToString());
            Assert.Equal("57P01", fatal.SqlState);
            Assert.Equal($"terminating connection: ended because grant {id} for target \"prod\" expired", fatal.MessageText);
            Assert.Equal("28000", (await Assert.ThrowsAsync<PostgresException>(() => OpenAsync(port, "prod"))).SqlState);
            Assert.True(await Eventually.WaitAsync(() => wire.Output.Contains("expired", StringComparison.Ordinal)));
            var deniedAgain = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(app, "DELETE FROM t WHERE id = 2"));
            Assert.Equal("42501", deniedAgain.SqlState);

            // Recorded: the grant's life in its own recording, and the grant in the session it admitted.
            string grantRecording = expired.GetProperty("recording").GetString()!;
            var records = await AdminApi.WaitForAsync(async () =>
            {
                var recording = await (await AdminApi.SendAsync(http, HttpMethod.Get, "/api/recordings/" + grantRecording, BobToken)).Content.ReadFromJsonAsync<JsonElement>();
                return recording.TryGetProperty("status", out var status) && status.GetString() == "ok" ? recording.GetProperty("records") : (JsonElement?)null;
            });
            Assert.Equal(["session.start", "grant.requested", "grant.approved", "grant.expired", "session.end"],
                records.EnumerateArray().Select(r => r.GetProperty("type").GetString()));
            Assert.Equal("bob", records[2].GetProperty("by").GetString());
            var sessions = await AdminApi.WaitForAsync(async () =>
            {
                var list = await (await AdminApi.SendAsync(http, HttpMethod.Get, "/api/recordings", BobToken)).Content.ReadFromJsonAsync<JsonElement>();
                foreach (var entry in list.EnumerateArray())
                {
                    var recording = await (await AdminApi.SendAsync(http, HttpMethod.Get, "/api/recordings/" + entry.GetProperty("id").GetString(), BobToken))
                        .Content.ReadFromJsonAsync<JsonElement>();
                    var start = recording.GetProperty("records")[0];
                    if (start.TryGetProperty("grant", out var g) && g.GetString() == id && recording.GetProperty("status").GetString() == "ok")
                    {
                        return start;
                    }
                }
                return null;
            });
            Assert.Equal("postgres", sessions.GetProperty("protocol").GetString());
            Assert.Equal("prod", sessions.GetProperty("target").GetString());
        }
    }

    [Fact]
    public async Task A_requireGrant_without_the_admin_api_is_a_startup_error()
    {
        string config = Path.Combine(_directory, "no-admin.json");
        File.WriteAllText(config, $$"""
            {
              "identity": { "tokens": [ { "token": "{{AliceToken}}", "subject": "alice" } ] },
              "postgres": { "listen": "127.0.0.1:0",
                "targets": [ { "name": "prod", "host": "127.0.0.1", "port": {{pg.Port}}, "username": "x", "requireGrant": true } ] }
            }
            """);
        await using var wire = WireProcess.Start("run", "--config", config);
        Assert.NotEqual(0, await wire.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("postgres.targets[0].requireGrant", wire.Output, StringComparison.Ordinal);
        Assert.Contains("needs the admin section", wire.Output, StringComparison.Ordinal);
    }

    private async Task<(WireProcess Wire, int Port, int Admin)> StartAsync()
    {
        int port = FreePort();
        int admin = FreePort();
        File.WriteAllText(Path.Combine(_directory, "db-password"), pg.ScramPassword + "\n");
        File.WriteAllText(Path.Combine(_directory, "recording.key"), "grant-recording-key-0123456789abcdef0123456789\n");
        string config = Path.Combine(_directory, "gateway.json");
        string target(string name, bool grant) => $$"""
            { "name": "{{name}}", "host": "127.0.0.1", "port": {{pg.Port}}, "database": "app", "username": "{{PostgresFixture.ScramUser}}",
              "password": "file:db-password", "sslMode": "disable", "requireGrant": {{(grant ? "true" : "false")}} }
            """;
        File.WriteAllText(config, $$"""
            {
              "identity": { "tokens": [
                { "token": "{{AliceToken}}", "subject": "alice", "groups": ["eng"] },
                { "token": "{{BobToken}}", "subject": "bob", "groups": ["dba"] },
                { "token": "{{CarolToken}}", "subject": "carol", "groups": ["eng"] } ] },
              "postgres": { "listen": "127.0.0.1:{{port}}", "targets": [ {{target("prod", true)}}, {{target("app", false)}} ] },
              "rules": [ { "name": "deletes-need-grant", "action": "allow", "targets": ["app"], "statements": ["delete"], "requireGrant": true } ],
              "recording": { "directory": "recordings", "key": "file:recording.key" },
              "admin": { "listen": "127.0.0.1:{{admin}}", "groups": ["dba"] },
              "grants": { "maxDuration": "01:00:00" }
            }
            """);
        var wire = WireProcess.Start("run", "--config", config);
        await wire.WaitForAsync("Listening for postgres", TimeSpan.FromSeconds(30));
        await wire.WaitForAsync("Admin API and approval page listening", TimeSpan.FromSeconds(30));
        return (wire, port, admin);
    }

    private static async Task<NpgsqlConnection> OpenAsync(int port, string database)
    {
        var connection = new NpgsqlConnection(
            $"Host=127.0.0.1;Port={port};Username=alice;Password={AliceToken};Database={database};Pooling=false;SSL Mode=Disable;Timeout=10");
        try
        {
            await connection.OpenAsync();
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<int> ScalarAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (int)(await command.ExecuteScalarAsync())!;
    }

    private static Task<HttpResponseMessage> AskAsync(HttpClient http, string token, string target, string duration, string reason = "incident 12") =>
        AdminApi.SendAsync(http, HttpMethod.Post, "/api/grants", token, new { target, duration, reason });

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
