using Wire.Testing;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Wire.Enforcement;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Recording;
using Wire.Enforcement.Sessions;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Postgres.Tests.Proxy;

namespace Wire.Postgres.Tests.Enforcement;

/// <summary>
/// Live sessions (issue 9): a PostgreSQL session through Wire shows in the registry with its counters, and an
/// administrator's termination ends it as DESIGN.md §4 says (57P01 FATAL), with a real Npgsql client.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class SessionRegistryTests(PostgresFixture fixture) : IDisposable
{
    private static readonly byte[] Key = Encoding.UTF8.GetBytes("a-recording-key-of-at-least-32-bytes!");
    private readonly string _dir = Directory.CreateTempSubdirectory("wire-live-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private WireProxyHarness StartWire(SessionRegistry registry) => WireProxyHarness.Start(fixture, enforcement: new WireEnforcement
    {
        Sessions = registry,
        Recorder = new FileSessionRecorderFactory(new RecordingOptions { Directory = _dir, Key = Key }, TimeProvider.System, NullLoggerFactory.Instance),
    });

    [Fact]
    public async Task Registry_lists_the_session_and_terminating_it_answers_57P01()
    {
        var registry = new SessionRegistry();
        await using var wire = StartWire(registry);
        await using var connection = await wire.OpenClientAsync();
        await using (var query = new NpgsqlCommand("SELECT 42", connection))
        {
            Assert.Equal(42, await query.ExecuteScalarAsync());
        }

        var live = Assert.Single(registry.Active);
        Assert.StartsWith("pg-", live.Id, StringComparison.Ordinal);
        Assert.Equal(WireProtocol.Postgres, live.Protocol);
        Assert.Equal(WireProxyHarness.TargetName, live.Target);
        Assert.Equal(WireProxyHarness.Subject, live.Identity.Subject);
        Assert.StartsWith("127.0.0.1:", live.Client, StringComparison.Ordinal);
        Assert.True(live.BytesFromClient > 0, "no bytes from the client counted");
        Assert.True(live.BytesToClient > 0, "no bytes to the client counted");
        Assert.True(live.Commands >= 1, "no command counted");
        long commands = live.Commands;
        await using (var query = new NpgsqlCommand("SELECT 1; SELECT 2", connection))
        {
            await query.ExecuteNonQueryAsync();
        }
        Assert.True(live.Commands > commands, "the second query was not counted");

        Assert.True(registry.TryTerminate(live.Id, "incident 7"));
        Assert.True(await Eventually.WaitAsync(() => registry.Active.Count == 0), "the session did not end");

        await using (var query = new NpgsqlCommand("SELECT 43", connection))
        {
            var error = await Assert.ThrowsAnyAsync<NpgsqlException>(() => query.ExecuteScalarAsync());
            var postgres = error as PostgresException ?? error.InnerException as PostgresException;
            Assert.True(postgres is not null, error.ToString());
            Assert.Equal("57P01", postgres.SqlState);
            Assert.Equal("FATAL", postgres.Severity);
            Assert.Equal("terminating connection: ended by an administrator: incident 7", postgres.MessageText);
        }
        Assert.Contains(wire.Logs.Lines, l => l.Contains("ended by an administrator: incident 7", StringComparison.Ordinal));
        Assert.False(registry.TryTerminate(live.Id, "again"));

        // The recording ends with the reason.
        string file = Assert.Single(Directory.GetFiles(_dir, "*.jsonl"));
        Assert.True(await Eventually.WaitAsync(() => File.ReadAllText(file).Contains("session.end", StringComparison.Ordinal)), "the recording did not complete");
        var end = JsonDocument.Parse(File.ReadAllLines(file)[^1]).RootElement;
        Assert.Equal("session.end", end.GetProperty("type").GetString());
        Assert.Equal("session ended by an administrator: incident 7", end.GetProperty("reason").GetString());
        Assert.True(RecordingVerifier.VerifyFile(file, Key).IsValid);
    }

    [Fact]
    public async Task Registry_termination_ends_a_running_query_and_its_server_backend()
    {
        var registry = new SessionRegistry();
        await using var wire = StartWire(registry);
        string appName = "wire-live-" + Guid.NewGuid().ToString("n")[..8];
        await using var connection = await wire.OpenClientAsync(b => b.ApplicationName = appName);
        await using var sleep = new NpgsqlCommand("SELECT pg_sleep(60)", connection);
        var running = sleep.ExecuteNonQueryAsync();
        Assert.True(await Direct.WaitForBackendCountAsync(fixture, appName, c => c == 1, TimeSpan.FromSeconds(5)), "the upstream backend is not there");
        await Task.Delay(200);
        Assert.False(running.IsCompleted);

        var live = Assert.Single(registry.Active);
        var stopwatch = Stopwatch.StartNew();
        Assert.True(registry.TryTerminate(live.Id, "grant expired"));
        var error = await Assert.ThrowsAnyAsync<NpgsqlException>(() => running.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10));
        var postgres = error as PostgresException ?? error.InnerException as PostgresException;
        Assert.True(postgres is not null, error.ToString());
        Assert.Equal("57P01", postgres.SqlState);
        Assert.Contains("grant expired", postgres.MessageText, StringComparison.Ordinal);
        Assert.True(await Direct.WaitForBackendCountAsync(fixture, appName, c => c == 0, TimeSpan.FromSeconds(10)), "the server backend is still there");
        Assert.True(await Eventually.WaitAsync(() => registry.Active.Count == 0), "the session did not leave the registry");
    }

    [Fact]
    public async Task Registry_sessions_leave_when_the_client_disconnects()
    {
        var registry = new SessionRegistry();
        await using var wire = StartWire(registry);
        await using (var first = await wire.OpenClientAsync())
        await using (var second = await wire.OpenClientAsync())
        {
            Assert.Equal(2, registry.Active.Count);
            Assert.NotEqual(registry.Active[0].Id, registry.Active[1].Id);
        }
        Assert.True(await Eventually.WaitAsync(() => registry.Active.Count == 0), "sessions stayed in the registry");
    }

}
