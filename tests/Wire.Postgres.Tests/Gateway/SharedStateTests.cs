using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Npgsql;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Testing;

namespace Wire.Postgres.Tests.Gateway;

/// <summary>
/// Two <c>wire run</c> processes sharing <c>state.postgres</c> (one real PostgreSQL server, which is also their target), as
/// behind a TCP load balancer: a review requested through instance A is listed and approved through instance B's admin
/// API and the statement then runs on A; a cancel request the balancer sends to B cancels A's statement; a grant asked for
/// through A and approved through B admits the requester on A, and its revocation through B ends A's session; the
/// recordings both instances keep in the database verify and replay from the command line and list on either admin API.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class SharedStateTests(PostgresFixture pg) : IDisposable
{
    private const string AgentToken = "shared-agent-token";
    private const string ApproverToken = "shared-approver-token";
    private const string RecordingKey = "shared-recording-key-of-at-least-32-bytes";

    private readonly string _directory = Directory.CreateTempSubdirectory("wire-shared-test-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Config(int port, int admin) => $$"""
        {
          "identity": { "tokens": [
            { "token": "{{AgentToken}}", "subject": "agent", "groups": ["eng"] },
            { "token": "{{ApproverToken}}", "subject": "dana", "groups": ["dba"] } ] },
          "postgres": {
            "listen": "127.0.0.1:{{port}}",
            "targets": [ { "name": "app", "host": "127.0.0.1", "port": {{pg.Port}}, "database": "app",
                           "username": "{{PostgresFixture.ScramUser}}", "password": "env:WIRE_TEST_DB_PASSWORD", "sslMode": "disable" },
                         { "name": "vault", "host": "127.0.0.1", "port": {{pg.Port}}, "database": "app", "requireGrant": true,
                           "username": "{{PostgresFixture.ScramUser}}", "password": "env:WIRE_TEST_DB_PASSWORD", "sslMode": "disable" } ]
          },
          "recording": { "store": "postgres", "key": "env:WIRE_TEST_RECORDING_KEY" },
          "rules": [ { "name": "reviewed-delete", "action": "review", "statements": ["delete"], "approvers": ["dba"], "timeout": "00:00:30" } ],
          "state": { "postgres": "env:WIRE_TEST_STATE" },
          "admin": { "listen": "127.0.0.1:{{admin}}", "groups": ["dba"] },
          "shutdownTimeout": "00:00:02"
        }
        """;

    private async Task<WireProcess> StartAsync(string name, int port, int admin)
    {
        string directory = Directory.CreateDirectory(Path.Combine(_directory, name)).FullName;
        var environment = new Dictionary<string, string>
        {
            ["WIRE_TEST_DB_PASSWORD"] = pg.ScramPassword,
            ["WIRE_TEST_STATE"] = StateConnectionString,
            ["WIRE_TEST_RECORDING_KEY"] = RecordingKey,
        };
        return await WireRun.StartFromAsync(Path.Combine(AppContext.BaseDirectory, "wire.dll"), environment, directory, Config(port, admin),
            "Listening for postgres", WireRun.AdminListening);
    }

    private string StateConnectionString => $"Host=127.0.0.1;Port={pg.Port};Username={PostgresFixture.ScramUser};Password={pg.ScramPassword};Database=app";

    private static string ConnectionString(int port, string database = "app") =>
        $"Host=127.0.0.1;Port={port};Username=agent;Password={AgentToken};Database={database};Pooling=false;SSL Mode=Disable;Timeout=15;Command Timeout=60";

    [Fact]
    public async Task ReviewsAndCancelRequestsCrossInstances()
    {
        await using (var setup = pg.OpenDirect(PostgresFixture.ScramUser, pg.ScramPassword))
        {
            await using var create = new NpgsqlCommand(
                "DROP TABLE IF EXISTS shared_orders; CREATE TABLE shared_orders (id int); INSERT INTO shared_orders VALUES (1), (2)", setup);
            await create.ExecuteNonQueryAsync();
        }
        int portA = Ports.Free(), adminA = Ports.Free(), portB = Ports.Free(), adminB = Ports.Free();
        await using var a = await StartAsync("a", portA, adminA);
        await using var b = await StartAsync("b", portB, adminB);

        await ReviewAsync(portA, adminA, adminB);
        await CancelAsync(portA, portB, a);
        await SessionsAsync(portA, adminB);
        await GrantsAsync(portA, adminA, adminB);
        await RecordingsAsync(adminB);
    }

    private static async Task GrantsAsync(int portA, int adminA, int adminB)
    {
        // Without a grant, A refuses the target that requires one.
        var refused = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            await using var conn = new NpgsqlConnection(ConnectionString(portA, "vault"));
            await conn.OpenAsync();
        });
        Assert.Equal("28000", refused.SqlState);

        // Asked for through A, approved through B (the first decision wins, in the database) ...
        using var httpA = AdminApi.Client(adminA);
        using var httpB = AdminApi.Client(adminB);
        string id;
        using (var ask = await AdminApi.SendAsync(httpA, HttpMethod.Post, "/api/grants", AgentToken,
            new { target = "vault", duration = "00:10:00", reason = "incident 7" }))
        {
            Assert.Equal(HttpStatusCode.Created, ask.StatusCode);
            id = JsonDocument.Parse(await ask.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        }
        await AdminApi.WaitForAsync(async () =>
        {
            using var listed = await AdminApi.SendAsync(httpB, HttpMethod.Get, $"/api/grants/{id}", ApproverToken);
            return listed.StatusCode == HttpStatusCode.OK ? (JsonElement?)default(JsonElement) : null;
        });
        using (var approve = await AdminApi.SendAsync(httpB, HttpMethod.Post, $"/api/grants/{id}/approve", ApproverToken))
        {
            Assert.Equal(HttpStatusCode.OK, approve.StatusCode);
        }
        using (var again = await AdminApi.SendAsync(httpA, HttpMethod.Post, $"/api/grants/{id}/deny", ApproverToken))
        {
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        }

        // ... so A admits the requester (once the NOTIFY reached it) ...
        await using var session = new NpgsqlConnection(ConnectionString(portA, "vault"));
        Assert.True(await Eventually.WaitAsync(() =>
        {
            try
            {
                session.Open();
                return true;
            }
            catch (PostgresException e) when (e.SqlState == "28000")
            {
                return false;
            }
        }), "instance A never learned of the approval made through B");
        await using (var select = new NpgsqlCommand("SELECT 1", session))
        {
            Assert.Equal(1, await select.ExecuteScalarAsync());
        }

        // ... and a revocation through B ends the session on A.
        using (var revoke = await AdminApi.SendAsync(httpB, HttpMethod.Delete, $"/api/grants/{id}", ApproverToken))
        {
            Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        }
        await AssertEndedAsync(session);
        using var final = await AdminApi.SendAsync(httpA, HttpMethod.Get, $"/api/grants/{id}", ApproverToken);
        Assert.Equal("revoked", JsonDocument.Parse(await final.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
    }

    private async Task RecordingsAsync(int adminB)
    {
        // Every session and grant above was recorded into the shared database, whichever instance ran it.
        string config = Path.Combine(_directory, "a", "gateway.json");
        var environment = new Dictionary<string, string> { ["WIRE_TEST_STATE"] = StateConnectionString, ["WIRE_TEST_RECORDING_KEY"] = RecordingKey };
        var (code, output) = await RunWireAsync(environment, "verify", "postgres:", "--config", config);
        Assert.True(code == 0, output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length >= 5, output);
        Assert.All(lines, line => Assert.StartsWith("OK postgres:", line, StringComparison.Ordinal));

        using var http = AdminApi.Client(adminB);
        using var listed = await AdminApi.SendAsync(http, HttpMethod.Get, "/api/recordings", ApproverToken);
        var recordings = JsonDocument.Parse(await listed.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(lines.Length, recordings.GetArrayLength());
        Assert.All(recordings.EnumerateArray(), r => Assert.Equal("ok", r.GetProperty("status").GetString()));

        // The DELETE reviewed on A: its transcript replays from the database and verifies.
        string? deleteSession = null;
        await using (var state = new NpgsqlConnection(StateConnectionString))
        {
            await state.OpenAsync();
            await using var find = new NpgsqlCommand(
                "SELECT name FROM wire_recordings WHERE position('DELETE FROM shared_orders' IN convert_from(data, 'UTF8')) > 0 LIMIT 1", state);
            deleteSession = ((string?)await find.ExecuteScalarAsync())?[..^".jsonl".Length];
        }
        Assert.NotNull(deleteSession);
        (code, output) = await RunWireAsync(environment, "replay", "postgres:" + deleteSession, "--config", config);
        Assert.True(code == 0, output);
        Assert.Contains("DELETE FROM shared_orders WHERE id = 1", output, StringComparison.Ordinal);
        Assert.Contains("OK: ", output, StringComparison.Ordinal);

        // A row changed in the database is found out.
        await using (var state = new NpgsqlConnection(StateConnectionString))
        {
            await state.OpenAsync();
            await using var tamper = new NpgsqlCommand(
                "UPDATE wire_recordings SET data = convert_to(replace(convert_from(data, 'UTF8'), 'id = 1', 'id = 2'), 'UTF8') WHERE name = $1", state);
            tamper.Parameters.AddWithValue(deleteSession + ".jsonl");
            Assert.True(await tamper.ExecuteNonQueryAsync() > 0);
        }
        (code, output) = await RunWireAsync(environment, "verify", "postgres:" + deleteSession, "--config", config);
        Assert.Equal(1, code);
        Assert.StartsWith($"BAD postgres:{deleteSession}.jsonl: record ", output, StringComparison.Ordinal);
    }

    /// <summary>The session ends within 10 s, and its client is told 57P01 (ended by an administrator or a grant's end).</summary>
    private static async Task AssertEndedAsync(NpgsqlConnection connection)
    {
        var ended = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            for (int i = 0; i < 100; i++)
            {
                await using var ping = new NpgsqlCommand("SELECT 1", connection);
                await ping.ExecuteScalarAsync();
                await Task.Delay(100);
            }
        });
        Assert.Equal("57P01", ended.SqlState);
    }

    private static async Task<(int Code, string Output)> RunWireAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        await using var wire = WireProcess.StartFrom(Path.Combine(AppContext.BaseDirectory, "wire.dll"), environment, args);
        int code = await wire.WaitForExitAsync(TimeSpan.FromSeconds(60));
        await Task.Delay(100); // the last lines of output
        return (code, wire.Output);
    }

    private static async Task SessionsAsync(int portA, int adminB)
    {
        // A session on A is listed by B, and B ends it: A's client is told 57P01, as when A's own admin API ends it.
        await using var conn = new NpgsqlConnection(ConnectionString(portA));
        await conn.OpenAsync();
        using var http = AdminApi.Client(adminB);
        async Task<JsonElement?> ListedAsync()
        {
            using var response = await AdminApi.SendAsync(http, HttpMethod.Get, "/api/sessions", ApproverToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var list = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            return list.EnumerateArray().Where(s => s.GetProperty("subject").GetString() == "agent").Select(s => (JsonElement?)s.Clone()).FirstOrDefault();
        }
        await using (var select = new NpgsqlCommand("SELECT 1", conn))
        {
            await select.ExecuteScalarAsync();
        }
        // Counted where it runs, on A, and reported with A's heartbeat.
        var listed = await AdminApi.WaitForAsync(async () =>
            await ListedAsync() is { } s && s.GetProperty("commands").GetInt64() >= 1 ? s : null);
        Assert.Equal("postgres", listed.GetProperty("protocol").GetString());
        Assert.Equal("app", listed.GetProperty("target").GetString());
        Assert.True(listed.GetProperty("bytesToClient").GetInt64() > 0);

        using (var end = await AdminApi.SendAsync(http, HttpMethod.Delete, $"/api/sessions/{listed.GetProperty("id").GetString()}", ApproverToken))
        {
            Assert.Equal(HttpStatusCode.OK, end.StatusCode);
        }
        await AssertEndedAsync(conn);
        Assert.True(await Eventually.WaitAsync(() => ListedAsync().GetAwaiter().GetResult() is null), "the ended session is still listed");
    }

    private async Task ReviewAsync(int portA, int adminA, int adminB)
    {
        // A review waits on A; B lists it and approves it; A wakes (LISTEN/NOTIFY) and runs the statement.
        await using (var conn = new NpgsqlConnection(ConnectionString(portA)))
        {
            await conn.OpenAsync();
            await using var delete = new NpgsqlCommand("DELETE FROM shared_orders WHERE id = 1", conn);
            var deleting = delete.ExecuteNonQueryAsync();

            using var http = AdminApi.Client(adminB);
            var pending = await AdminApi.WaitForAsync(async () =>
            {
                using var response = await AdminApi.SendAsync(http, HttpMethod.Get, "/api/approvals", ApproverToken);
                var list = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
                return list.GetArrayLength() > 0 ? list[0].Clone() : null;
            });
            Assert.Equal("agent", pending.GetProperty("subject").GetString());
            Assert.Equal("DELETE FROM shared_orders WHERE id = 1", pending.GetProperty("text").GetString());
            Assert.False(deleting.IsCompleted);
            string id = pending.GetProperty("id").GetString()!;
            using (var approve = await AdminApi.SendAsync(http, HttpMethod.Post, $"/api/approvals/{id}/approve", ApproverToken))
            {
                Assert.Equal(HttpStatusCode.OK, approve.StatusCode);
            }
            Assert.Equal(1, await deleting.WaitAsync(TimeSpan.FromSeconds(20)));

            // Decided once: a second decision, through either instance, is refused as no longer pending.
            using var again = await AdminApi.SendAsync(AdminApi.Client(adminA), HttpMethod.Post, $"/api/approvals/{id}/deny", ApproverToken);
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        }

    }

    private static async Task CancelAsync(int portA, int portB, WireProcess a)
    {
        // Behind a balancer that sends the query connection to A and the cancel connection to B.
        await using var balancer = TcpTap.StartRouted(n => n == 0 ? portA : portB);
        await using (var conn = new NpgsqlConnection(ConnectionString(balancer.Port)))
        {
            await conn.OpenAsync();
            await using var sleep = new NpgsqlCommand("SELECT pg_sleep(30)", conn);
            var sleeping = sleep.ExecuteNonQueryAsync();
            await Task.Delay(500);
            var started = DateTime.UtcNow;
            sleep.Cancel();
            var cancelled = await Assert.ThrowsAsync<OperationCanceledException>(() => sleeping.WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.Equal("57014", Assert.IsType<PostgresException>(cancelled.InnerException).SqlState); // canceled by user request, on A's server
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(15));
            Assert.Equal(2, balancer.Connections);
        }
        await a.WaitForAsync("A cancel request received by another gateway instance was carried out here", TimeSpan.FromSeconds(10));
    }
}
