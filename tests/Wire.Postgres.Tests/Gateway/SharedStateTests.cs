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
/// API and the statement then runs on A; a cancel request the balancer sends to B cancels A's statement.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class SharedStateTests(PostgresFixture pg) : IDisposable
{
    private const string AgentToken = "shared-agent-token";
    private const string ApproverToken = "shared-approver-token";

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
                           "username": "{{PostgresFixture.ScramUser}}", "password": "env:WIRE_TEST_DB_PASSWORD", "sslMode": "disable" } ]
          },
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
            ["WIRE_TEST_STATE"] = $"Host=127.0.0.1;Port={pg.Port};Username={PostgresFixture.ScramUser};Password={pg.ScramPassword};Database=app",
        };
        return await WireRun.StartFromAsync(Path.Combine(AppContext.BaseDirectory, "wire.dll"), environment, directory, Config(port, admin),
            "Listening for postgres", WireRun.AdminListening);
    }

    private static string ConnectionString(int port) =>
        $"Host=127.0.0.1;Port={port};Username=agent;Password={AgentToken};Database=app;Pooling=false;SSL Mode=Disable;Timeout=15;Command Timeout=60";

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
        var listed = await AdminApi.WaitForAsync(ListedAsync);
        Assert.Equal("postgres", listed.GetProperty("protocol").GetString());
        Assert.Equal("app", listed.GetProperty("target").GetString());
        Assert.Equal(JsonValueKind.Null, listed.GetProperty("commands").ValueKind); // counted where it runs, on A

        using (var end = await AdminApi.SendAsync(http, HttpMethod.Delete, $"/api/sessions/{listed.GetProperty("id").GetString()}", ApproverToken))
        {
            Assert.Equal(HttpStatusCode.OK, end.StatusCode);
        }
        var ended = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            for (int i = 0; i < 100; i++)
            {
                await using var ping = new NpgsqlCommand("SELECT 1", conn);
                await ping.ExecuteScalarAsync();
                await Task.Delay(100);
            }
        });
        Assert.Equal("57P01", ended.SqlState);
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
