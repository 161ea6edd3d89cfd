using Wire.Testing;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Npgsql;
using Wire.Postgres.Tests.Infrastructure;

namespace Wire.Postgres.Tests.Gateway;

/// <summary><c>wire run --config</c> as a real process in front of the real server.</summary>
[Collection(PostgresCollection.Name)]
public sealed class WireRunTests(PostgresFixture pg) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("wire-run-test-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private string WriteConfig(int port, string token, string passwordFile = "db-password", string extra = "")
    {
        File.WriteAllText(Path.Combine(_directory, passwordFile), pg.ScramPassword + "\n");
        string json = $$"""
            {
              "identity": { "tokens": [ { "token": "{{token}}", "subject": "alice", "groups": ["eng"] } ] },
              "postgres": {
                "listen": "127.0.0.1:{{port}}",
                "targets": [ { "name": "app", "host": "127.0.0.1", "port": {{pg.Port}}, "database": "app",
                               "username": "{{PostgresFixture.ScramUser}}", "password": "file:{{passwordFile}}", "sslMode": "disable" } ]
              },
              {{(extra.Length == 0 ? "" : extra + ",")}}
              "shutdownTimeout": "00:00:05"
            }
            """;
        string path = Path.Combine(_directory, "gateway.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static string ConnectionString(int port, string token) =>
        $"Host=127.0.0.1;Port={port};Username=alice;Password={token};Database=app;Pooling=false;SSL Mode=Disable;Timeout=10";

    private async Task<(WireProcess Wire, int Port)> StartGatewayAsync(string token)
    {
        int port = FreePort();
        var wire = WireProcess.Start("run", "--config", WriteConfig(port, token));
        await wire.WaitForAsync("Listening for postgres", TimeSpan.FromSeconds(30));
        return (wire, port);
    }

    [Fact]
    public async Task BadConfigExitsNonZeroWithOneLineNamingTheKey()
    {
        string path = Path.Combine(_directory, "bad.json");
        File.WriteAllText(path, """{ "postgres": { "listen": "127.0.0.1:6432", "targets": [ { "name": "app", "host": "127.0.0.1", "port": 70000, "username": "u" } ] } }""");
        await using var wire = WireProcess.Start("run", "--config", path);
        int exit = await wire.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.NotEqual(0, exit);
        Assert.Contains("postgres.targets[0].port", wire.Output, StringComparison.Ordinal);
        Assert.Single(wire.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task RunsFromConfigReloadsIdentityAndDrainsOnSigterm()
    {
        int port = FreePort();
        string path = WriteConfig(port, "first-token");
        await using var wire = WireProcess.Start("run", "--config", path);
        await wire.WaitForAsync("Listening for postgres", TimeSpan.FromSeconds(30));

        await using (var conn = new NpgsqlConnection(ConnectionString(port, "first-token")))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT current_user", conn);
            Assert.Equal(PostgresFixture.ScramUser, await cmd.ExecuteScalarAsync());
        }

        // Identity hot-reloads when the file changes; the running listener stays.
        WriteConfig(port, "second-token");
        await wire.WaitForAsync("Config reloaded", TimeSpan.FromSeconds(15));
        await using (var conn = new NpgsqlConnection(ConnectionString(port, "second-token")))
        {
            await conn.OpenAsync();
        }

        var old = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            await using var conn = new NpgsqlConnection(ConnectionString(port, "first-token"));
            await conn.OpenAsync();
        });
        Assert.Equal("28P01", old.SqlState);

        // An invalid file keeps the running config.
        File.WriteAllText(path, "{ \"identity\": 42 }");
        await wire.WaitForAsync("Config reload failed", TimeSpan.FromSeconds(15));
        await using (var conn = new NpgsqlConnection(ConnectionString(port, "second-token")))
        {
            await conn.OpenAsync();
        }

        wire.Signal(PosixSignal.SIGTERM);
        Assert.Equal(0, await wire.WaitForExitAsync(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task LargeResultStreamsThroughTheGatewayWithBoundedMemory()
    {
        var (wire, port) = await StartGatewayAsync("stream-token");
        await using var _ = wire;
        long baseline = wire.ResidentBytes();

        // About 120 MB of COPY data; psql writes it to /dev/null as it arrives, so only Wire could hold it.
        var psql = new System.Diagnostics.ProcessStartInfo("psql") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[]
        {
            "-X", "-q", "-h", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", "alice", "-d", "app",
            "-c", "\\copy (SELECT g, repeat('x', 100) FROM generate_series(1, 1000000) g) TO '/dev/null'",
        })
        {
            psql.ArgumentList.Add(arg);
        }

        psql.Environment["PGPASSWORD"] = "stream-token";
        psql.Environment["PGSSLMODE"] = "disable";
        using var process = System.Diagnostics.Process.Start(psql)!;
        long peak = baseline;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        while (!process.HasExited)
        {
            peak = Math.Max(peak, wire.ResidentBytes());
            await Task.Delay(20, timeout.Token);
        }

        Assert.True(process.ExitCode == 0, await process.StandardError.ReadToEndAsync());
        // The pipes pause at 1 MiB per direction; allow generous room for the runtime's own growth.
        Assert.True(peak - baseline < 64L * 1024 * 1024, $"Wire grew by {(peak - baseline) / (1024 * 1024)} MiB while streaming");
    }

    [Fact]
    public async Task StalledClientStopsTheUpstreamInsteadOfBuffering()
    {
        var (wire, port) = await StartGatewayAsync("stall-token");
        await using var _ = wire;
        long baseline = wire.ResidentBytes();

        // About 200 MB of rows; the client does not read for three seconds.
        await using var client = await Proxy.RawPgClient.ConnectAsync(port);
        await client.SendAsync(Proxy.RawPgClient.Startup(Proxy.RawPgClient.StartupParameters()));
        Assert.Equal('R', (await client.ReadMessageAsync())!.Tag);
        await client.SendAsync(Proxy.RawPgClient.Password("stall-token"));
        await client.ReadUntilAsync('Z');
        await client.SendAsync(Proxy.RawPgClient.Query("SELECT g, repeat('y', 200) FROM generate_series(1, 1000000) g"));
        long peak = baseline;
        for (int i = 0; i < 30; i++)
        {
            await Task.Delay(100);
            peak = Math.Max(peak, wire.ResidentBytes());
        }

        Assert.True(peak - baseline < 64L * 1024 * 1024, $"Wire grew by {(peak - baseline) / (1024 * 1024)} MiB behind a stalled client");

        // Reading resumes the flow: every row arrives.
        int rows = 0;
        while (true)
        {
            var message = await client.ReadMessageAsync(TimeSpan.FromSeconds(60)) ?? throw new EndOfStreamException();
            if (message.Tag == 'D')
            {
                rows++;
            }
            else if (message.Tag == 'Z')
            {
                break;
            }
        }

        Assert.Equal(1_000_000, rows);
    }

    [Fact]
    public async Task SighupReloads()
    {
        int port = FreePort();
        string path = WriteConfig(port, "token-a");
        await using var wire = WireProcess.Start("run", "--config", path);
        await wire.WaitForAsync("Listening for postgres", TimeSpan.FromSeconds(30));
        int before = wire.CountLines("Config reloaded");
        wire.Signal(PosixSignal.SIGHUP);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (wire.CountLines("Config reloaded") == before && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.True(wire.CountLines("Config reloaded") > before, wire.Output);
        Assert.False(wire.HasExited);
    }

    [Fact]
    public async Task RulesReloadIntoOpenSessions()
    {
        int port = FreePort();
        string noRules = "\"rules\": []";
        string path = WriteConfig(port, "rules-token", extra: noRules);
        await using var wire = WireProcess.Start("run", "--config", path);
        await wire.WaitForAsync("Listening for postgres", TimeSpan.FromSeconds(30));

        await using var conn = new NpgsqlConnection(ConnectionString(port, "rules-token"));
        await conn.OpenAsync();
        await using var select = new NpgsqlCommand("SELECT 'alice@example.com'", conn);
        Assert.Equal("alice@example.com", await select.ExecuteScalarAsync());

        // The same session, after the file changes: a deny rule and a mask rule apply to its next executions.
        int before = wire.CountLines("Config reloaded");
        WriteConfig(port, "rules-token", extra: """
            "rules": [
              { "name": "no-pg-sleep", "action": "deny", "functions": ["pg_sleep*"], "message": "no sleeping" },
              { "name": "pii", "action": "mask", "detectors": ["email"] }
            ]
            """);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (wire.CountLines("Config reloaded") == before && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
        Assert.Contains("2 rules in force", wire.Output, StringComparison.Ordinal);

        Assert.Equal("*****************", await select.ExecuteScalarAsync());
        await using var sleep = new NpgsqlCommand("SELECT pg_sleep(0)", conn);
        var denied = await Assert.ThrowsAsync<PostgresException>(() => sleep.ExecuteNonQueryAsync());
        Assert.Equal("wire: denied by rule no-pg-sleep: no sleeping", denied.MessageText);
    }
}
