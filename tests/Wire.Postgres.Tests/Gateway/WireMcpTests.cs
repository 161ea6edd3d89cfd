using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Testing;

namespace Wire.Postgres.Tests.Gateway;

/// <summary>
/// <c>wire mcp --config</c> as a real process, driven by the MCP SDK's own client over stdio: an agent lists the targets and
/// runs SQL through the gateway as its own identity, and gets masked results, denials and review waits as psql would.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class WireMcpTests(PostgresFixture pg) : IDisposable
{
    private const string AgentToken = "agent-token-7d1f";
    private const string ApproverToken = "approver-token-42aa";

    private readonly string _directory = Directory.CreateTempSubdirectory("wire-mcp-test-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string WriteConfig(int port, int admin)
    {
        File.WriteAllText(Path.Combine(_directory, "db-password"), pg.ScramPassword + "\n");
        string path = Path.Combine(_directory, "gateway.json");
        File.WriteAllText(path, $$"""
            {
              "identity": { "tokens": [
                { "token": "{{AgentToken}}", "subject": "agent", "groups": ["ai"] },
                { "token": "{{ApproverToken}}", "subject": "dana", "groups": ["dba"] } ] },
              "postgres": {
                "listen": "127.0.0.1:{{port}}",
                "targets": [ { "name": "app", "host": "127.0.0.1", "port": {{pg.Port}}, "database": "app",
                               "username": "{{PostgresFixture.ScramUser}}", "password": "file:db-password", "sslMode": "disable" } ]
              },
              "rules": [
                { "name": "no-drop", "action": "deny", "statements": ["drop"] },
                { "name": "reviewed-delete", "action": "review", "statements": ["delete"], "approvers": ["dba"], "timeout": "00:00:30" },
                { "name": "emails", "action": "mask", "columns": ["public.mcp_customers.email"], "style": "email" }
              ],
              "admin": { "listen": "127.0.0.1:{{admin}}", "groups": ["dba"] },
              "shutdownTimeout": "00:00:02"
            }
            """);
        return path;
    }

    private static string Text(CallToolResult result) => string.Join("\n", result.Content.OfType<TextContentBlock>().Select(b => b.Text));

    [Fact]
    public async Task AgentRunsSqlThroughTheGatewayUnderItsOwnIdentity()
    {
        await using (var setup = pg.OpenDirect(PostgresFixture.ScramUser, pg.ScramPassword))
        {
            await using var create = new Npgsql.NpgsqlCommand("""
                DROP TABLE IF EXISTS mcp_customers;
                CREATE TABLE mcp_customers (id int, email text);
                INSERT INTO mcp_customers VALUES (1, 'ada.lovelace@example.com'), (2, 'alan.turing@example.org');
                """, setup);
            await create.ExecuteNonQueryAsync();
        }

        int port = Ports.Free(), admin = Ports.Free();
        var transport = new StdioClientTransport(new StdioClientTransportOptions
        {
            Name = "wire",
            Command = "dotnet",
            Arguments = [Path.Combine(AppContext.BaseDirectory, "wire.dll"), "mcp", "--config", WriteConfig(port, admin)],
            EnvironmentVariables = new Dictionary<string, string?> { ["WIRE_TOKEN"] = AgentToken },
            ShutdownTimeout = TimeSpan.FromSeconds(10),
        });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await using var client = await McpClient.CreateAsync(transport, cancellationToken: timeout.Token);

        var tools = await client.ListToolsAsync(cancellationToken: timeout.Token);
        Assert.Equal(["list_targets", "query"], tools.Select(t => t.Name).Order(StringComparer.Ordinal));

        var targets = JsonDocument.Parse(Text(await client.CallToolAsync("list_targets", cancellationToken: timeout.Token))).RootElement;
        Assert.Equal("agent", targets.GetProperty("identity").GetString());
        var app = Assert.Single(targets.GetProperty("targets").EnumerateArray());
        Assert.Equal("app", app.GetProperty("name").GetString());
        Assert.Equal("postgresql", app.GetProperty("protocol").GetString());

        // Masked as for psql: the local part hidden, the domain kept.
        var select = await client.CallToolAsync("query",
            new Dictionary<string, object?> { ["target"] = "app", ["sql"] = "SELECT id, email FROM mcp_customers ORDER BY id" },
            cancellationToken: timeout.Token);
        Assert.NotEqual(true, select.IsError);
        string rows = Text(select);
        Assert.DoesNotContain("ada.lovelace", rows, StringComparison.Ordinal);
        Assert.DoesNotContain("alan.turing", rows, StringComparison.Ordinal);
        var answer = JsonDocument.Parse(rows).RootElement;
        Assert.Equal(2, answer.GetProperty("rowCount").GetInt32());
        Assert.Equal("************@example.com", answer.GetProperty("rows")[0][1].GetString());

        // Who runs it is the agent (the server sees Wire's credential; the recording and the rules see the agent).
        var denied = await client.CallToolAsync("query",
            new Dictionary<string, object?> { ["target"] = "app", ["sql"] = "DROP TABLE mcp_customers" }, cancellationToken: timeout.Token);
        Assert.True(denied.IsError);
        Assert.Contains("42501", Text(denied), StringComparison.Ordinal);
        Assert.Contains("no-drop", Text(denied), StringComparison.Ordinal);

        // A review holds the call until a human approves it through the admin API.
        var deleting = client.CallToolAsync("query",
            new Dictionary<string, object?> { ["target"] = "app", ["sql"] = "DELETE FROM mcp_customers WHERE id = 2" },
            cancellationToken: timeout.Token).AsTask();
        using var http = AdminApi.Client(admin);
        var pending = await AdminApi.WaitForAsync(async () =>
        {
            using var response = await AdminApi.SendAsync(http, HttpMethod.Get, "/api/approvals", ApproverToken);
            var list = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            return list.GetArrayLength() > 0 ? list[0].Clone() : null;
        });
        Assert.False(deleting.IsCompleted);
        Assert.Equal("agent", pending.GetProperty("subject").GetString());
        using (var approve = await AdminApi.SendAsync(http, HttpMethod.Post, $"/api/approvals/{pending.GetProperty("id").GetString()}/approve",
            ApproverToken))
        {
            Assert.Equal(HttpStatusCode.OK, approve.StatusCode);
        }
        var deleted = await deleting.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.NotEqual(true, deleted.IsError);
        Assert.Equal(1, JsonDocument.Parse(Text(deleted)).RootElement.GetProperty("recordsAffected").GetInt32());

        var unknown = await client.CallToolAsync("query",
            new Dictionary<string, object?> { ["target"] = "nope", ["sql"] = "SELECT 1" }, cancellationToken: timeout.Token);
        Assert.True(unknown.IsError);
        Assert.Contains("unknown target", Text(unknown), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutAValidTokenItExitsWithOneLine()
    {
        string config = WriteConfig(Ports.Free(), Ports.Free());
        await using var wire = WireProcess.StartFrom(Path.Combine(AppContext.BaseDirectory, "wire.dll"),
            new Dictionary<string, string> { ["WIRE_TOKEN"] = "not-a-token" }, "mcp", "--config", config);
        Assert.Equal(2, await wire.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("WIRE_TOKEN is not a valid token", wire.Output, StringComparison.Ordinal);
    }
}
