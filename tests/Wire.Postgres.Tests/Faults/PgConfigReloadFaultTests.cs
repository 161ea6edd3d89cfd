using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Npgsql;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Testing;

namespace Wire.Postgres.Tests.Faults;

/// <summary>
/// <c>wire run</c> is told to reload (SIGHUP) a config file that has become invalid: an unknown statement kind in a rule,
/// then JSON cut short. Each time the error is logged naming what is wrong, the rules in force stay in force (what was
/// denied stays denied, what was allowed stays allowed, in open and in new sessions), and a valid file later still reloads.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PgConfigReloadFaultTests(PostgresFixture fixture) : IDisposable
{
    private const string Token = "reload-fault-token";
    private readonly string _directory = Directory.CreateTempSubdirectory("wire-reload-fault-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string ConfigPath => Path.Combine(_directory, "wire.json");

    private string Config(int port, string rules) => $$"""
        {
          "identity": { "tokens": [ { "token": "{{Token}}", "subject": "alice", "groups": ["eng"] } ] },
          "postgres": {
            "listen": "127.0.0.1:{{port}}",
            "targets": [ { "name": "app", "host": "127.0.0.1", "port": {{fixture.Port}}, "database": "app",
                           "username": "{{PostgresFixture.ScramUser}}", "password": "file:db-password", "sslMode": "disable" } ]
          },
          "rules": [ {{rules}} ],
          "shutdownTimeout": "00:00:02"
        }
        """;

    private const string NoSleep = """{ "name": "no-sleep", "action": "deny", "functions": ["pg_sleep"], "message": "no sleeping" }""";

    [Fact(Timeout = 90_000)]
    public async Task An_invalid_config_on_sighup_is_logged_by_key_and_the_rules_in_force_stay()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        File.WriteAllText(Path.Combine(_directory, "db-password"), fixture.ScramPassword + "\n");
        File.WriteAllText(ConfigPath, Config(port, NoSleep));
        await using var wire = WireProcess.Start("run", "--config", ConfigPath);
        await wire.WaitForAsync("Listening for postgres", TimeSpan.FromSeconds(30));

        await using var open = await OpenAsync(port);
        await AssertRulesInForceAsync(open, port);

        // 1. A rule with an unknown statement kind, next to one that would deny every SELECT if it were applied.
        await ReloadAsync(wire, Config(port, NoSleep + """
            , { "name": "no-select", "action": "deny", "statements": ["select"] },
              { "name": "broken", "action": "deny", "statements": ["explode"] }
            """), "Config reload failed");
        string failure = wire.Output.Split('\n').Last(l => l.Contains("Config reload failed", StringComparison.Ordinal));
        Assert.Contains("rules[2].statements[0]", failure, StringComparison.Ordinal);
        Assert.Contains("must be one of", failure, StringComparison.Ordinal);
        await AssertRulesInForceAsync(open, port);

        // 2. JSON cut short (an editor's half-written save).
        string valid = Config(port, NoSleep + """, { "name": "no-now", "action": "deny", "functions": ["now"] }""");
        await ReloadAsync(wire, valid[..(valid.Length / 2)], "Config reload failed");
        Assert.Contains(ConfigPath, wire.Output.Split('\n').Last(l => l.Contains("Config reload failed", StringComparison.Ordinal)), StringComparison.Ordinal);
        await AssertRulesInForceAsync(open, port);
        Assert.False(wire.HasExited);

        // 3. The reloader is alive: a valid file is taken, and its new rule applies to the open session at once.
        await ReloadAsync(wire, valid, "Config reloaded");
        var denied = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync(open, "SELECT now()"));
        Assert.Equal("42501", denied.SqlState);
        Assert.Equal("wire: denied by rule no-now", denied.MessageText);
        await AssertRulesInForceAsync(open, port);
    }

    /// <summary>no-sleep denies pg_sleep; SELECT is allowed; in the open session and in a new one.</summary>
    private static async Task AssertRulesInForceAsync(NpgsqlConnection open, int port)
    {
        await using var fresh = await OpenAsync(port);
        foreach (var connection in new[] { open, fresh })
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync(connection, "SELECT pg_sleep(0)"));
            Assert.Equal("42501", error.SqlState);
            Assert.Equal("wire: denied by rule no-sleep: no sleeping", error.MessageText);
            Assert.Equal(7, await ScalarAsync(connection, "SELECT 7"));
        }
    }

    /// <summary>Writes the file, sends SIGHUP, and waits (bounded) for one more log line with <paramref name="outcome"/>.</summary>
    private async Task ReloadAsync(WireProcess wire, string content, string outcome)
    {
        int before = wire.CountLines(outcome);
        File.WriteAllText(ConfigPath, content);
        wire.Signal(PosixSignal.SIGHUP);
        for (int i = 0; i < 200 && wire.CountLines(outcome) == before; i++)
        {
            await Task.Delay(50);
        }
        Assert.True(wire.CountLines(outcome) > before, $"no \"{outcome}\" after SIGHUP:\n{wire.Output}");
        // The file watcher may schedule a second attempt at the same file; let it settle before judging.
        await Task.Delay(500);
    }

    private static async Task<NpgsqlConnection> OpenAsync(int port)
    {
        var connection = new NpgsqlConnection(
            $"Host=127.0.0.1;Port={port};Username=alice;Password={Token};Database=app;Pooling=false;SSL Mode=Disable;Timeout=10");
        await connection.OpenAsync();
        return connection;
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
