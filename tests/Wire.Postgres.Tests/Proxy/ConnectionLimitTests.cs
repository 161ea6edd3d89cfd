using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Npgsql;
using Wire.Enforcement;
using Wire.Enforcement.Diagnostics;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Transport;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Testing;

namespace Wire.Postgres.Tests.Proxy;

/// <summary>
/// The connection limits of a PostgreSQL listener (issue 10) with Npgsql through Wire: over <c>maxConnections</c> or
/// <c>maxConnectionsPerIdentity</c> a client is refused with 53300 and a reason, the refusal is logged and counted
/// (<c>wire.connections.refused</c>), and the slot frees when a connection ends; an idle session ends with 57P05.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ConnectionLimitTests(PostgresFixture fixture)
{
    private static readonly StaticTokenValidator Tokens = new(
    [
        new StaticToken(WireProxyHarness.Token, WireProxyHarness.Subject, ["eng"]),
        new StaticToken("bob-token", "bob", ["eng"]),
    ]);

    [Fact(Timeout = 60_000)]
    public async Task Over_max_connections_a_client_is_refused_with_53300_until_a_slot_frees()
    {
        using var refusals = new RefusalCounter("postgresql", "max_connections");
        await using var wire = WireProxyHarness.Start(fixture, o => o.Connections = new ConnectionLimits { MaxConnections = 2 });
        var first = await wire.OpenClientAsync();
        await using var second = await wire.OpenClientAsync();

        var refused = await Assert.ThrowsAsync<PostgresException>(() => wire.OpenClientAsync());
        Assert.Equal("53300", refused.SqlState);
        Assert.Contains("at most 2 at once (postgres.limits.maxConnections)", refused.MessageText, StringComparison.Ordinal);
        Assert.Contains(wire.Logs.Lines, l => l.Contains("too many connections", StringComparison.Ordinal));
        Assert.True(refusals.Count >= 1);

        // The established sessions are untouched; once one ends, its slot is free again.
        await using (var command = new NpgsqlCommand("SELECT 2", second))
        {
            Assert.Equal(2, await command.ExecuteScalarAsync());
        }
        await first.DisposeAsync();
        Assert.True(await Eventually.WaitAsync(() => wire.ActiveConnections < 2));
        await using var third = await wire.OpenClientAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task Over_max_connections_per_identity_that_identity_is_refused_and_others_are_not()
    {
        using var refusals = new RefusalCounter("postgresql", "max_connections_per_identity");
        await using var wire = WireProxyHarness.Start(fixture, o => o.Connections = new ConnectionLimits { MaxConnectionsPerIdentity = 1 },
            identityValidator: Tokens);
        var alice = await wire.OpenClientAsync();

        var refused = await Assert.ThrowsAsync<PostgresException>(() => wire.OpenClientAsync());
        Assert.Equal("53300", refused.SqlState);
        Assert.Contains("too many connections for alice: at most 1 at once (postgres.limits.maxConnectionsPerIdentity)", refused.MessageText,
            StringComparison.Ordinal);
        Assert.True(refusals.Count >= 1);
        await using (var bob = await wire.OpenClientAsync(b => (b.Username, b.Password) = ("bob", "bob-token")))
        {
            await using var command = new NpgsqlCommand("SELECT 3", bob);
            Assert.Equal(3, await command.ExecuteScalarAsync());
        }

        await alice.DisposeAsync();
        Assert.True(await Eventually.WaitAsync(() => wire.ActiveConnections == 0));
        await using var again = await wire.OpenClientAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task An_idle_session_ends_with_57P05_and_a_busy_one_does_not()
    {
        await using var wire = WireProxyHarness.Start(fixture, o => o.Connections = new ConnectionLimits { IdleTimeout = TimeSpan.FromSeconds(1) },
            enforcement: new WireEnforcement());
        await using var busy = await wire.OpenClientAsync();
        await using var idle = await wire.OpenClientAsync();

        // A statement every 200 ms keeps a session alive past the timeout.
        for (int i = 0; i < 12; i++)
        {
            await using var command = new NpgsqlCommand("SELECT 1", busy);
            Assert.Equal(1, await command.ExecuteScalarAsync());
            await Task.Delay(200);
        }

        var error = await Assert.ThrowsAnyAsync<NpgsqlException>(async () =>
        {
            await using var command = new NpgsqlCommand("SELECT 1", idle);
            await command.ExecuteScalarAsync();
        });
        var fatal = error as PostgresException ?? error.InnerException as PostgresException;
        Assert.True(fatal is not null, error.ToString());
        Assert.Equal("57P05", fatal.SqlState);
        Assert.Equal("terminating connection: idle for more than 00:00:01 (postgres.limits.idleTimeout)", fatal.MessageText);
        Assert.Contains(wire.Logs.Lines, l => l.Contains("idle for more than", StringComparison.Ordinal));
    }

    [Theory(Timeout = 60_000)]
    [InlineData(WirePipes.DefaultBufferBytes)]
    [InlineData(WirePipes.MinBufferBytes)]
    public async Task A_judged_statement_larger_than_the_pipe_threshold_passes(long bufferBytes)
    {
        // The enforcing pump holds a client message whole to judge it: 3 MiB is three times (or 48 times) the receive
        // pipe's pause threshold, so this proves a whole-frame wait never stalls on back-pressure.
        await using var wire = WireProxyHarness.Start(fixture, o => o.Limits.BufferBytes = bufferBytes, enforcement: new WireEnforcement());
        await using var connection = await wire.OpenClientAsync();
        string literal = new('x', 3 << 20);
        await using var command = new NpgsqlCommand($"SELECT length('{literal}')", connection);
        Assert.Equal(3 << 20, await command.ExecuteScalarAsync());
    }

    [Theory(Timeout = 120_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Buffer_bytes_bound_what_a_session_holds_for_a_client_that_stops_reading(bool enforcing)
    {
        // The same result, a client that never reads it, two settings: what Wire takes from the server before it stops
        // reading is its pipes (bufferBytes each) plus the kernel's socket buffers (a few MiB on loopback).
        long small = await HeldForStalledClientAsync(WirePipes.MinBufferBytes, enforcing);
        long large = await HeldForStalledClientAsync(64L << 20, enforcing);
        Assert.True(small < 24L << 20, $"with 64 KiB pipes Wire took {small:N0} bytes from the server");
        Assert.True(large > 100L << 20, $"with 64 MiB pipes Wire took only {large:N0} bytes from the server");
    }

    /// <summary>Bytes the server got through to Wire, once they stop growing, while a client sits on a ~400 MB result.</summary>
    private async Task<long> HeldForStalledClientAsync(long bufferBytes, bool enforcing)
    {
        await using var relay = new Faults.FaultRelay(fixture.Port);
        await using var wire = WireProxyHarness.Start(fixture, o =>
        {
            o.Targets.Add(WireProxyHarness.Target(fixture, name: "via-relay", port: relay.Port));
            o.Limits.BufferBytes = bufferBytes;
        }, enforcement: enforcing ? new WireEnforcement() : null);
        await using var client = await RawPgClient.ConnectAsync(wire.Port);
        await client.SendAsync(RawPgClient.Startup(RawPgClient.StartupParameters(database: "via-relay")));
        Assert.Equal('R', (await client.ReadMessageAsync())!.Tag);
        await client.SendAsync(RawPgClient.Password(WireProxyHarness.Token));
        await client.ReadUntilAsync('Z');
        long before = relay.BytesFromTarget;
        await client.SendAsync(RawPgClient.Query("SELECT g, repeat('x', 200) FROM generate_series(1, 2000000) g"));

        // The first rows come once the server has built the series; then bytes flow until back-pressure stops them.
        Assert.True(await Eventually.WaitAsync(() => relay.BytesFromTarget > before), "no rows came within 10 s");
        long? held = await Eventually.SteadyAsync(() => relay.BytesFromTarget - before);
        Assert.True(held.HasValue, "the bytes kept growing: back-pressure never reached the server");
        return held.Value;
    }

    /// <summary>Counts <c>wire.connections.refused</c> for one protocol and reason while it lives.</summary>
    private sealed class RefusalCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentBag<long> _seen = [];

        public RefusalCounter(string protocol, string reason)
        {
            _ = WireDiagnostics.ConnectionsRefused;
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == WireDiagnostics.Name && instrument.Name == "wire.connections.refused")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                string? p = null, r = null;
                foreach (var tag in tags)
                {
                    (p, r) = tag.Key switch
                    {
                        "network.protocol.name" => ((string?)tag.Value, r),
                        "wire.reason" => (p, (string?)tag.Value),
                        _ => (p, r),
                    };
                }
                if (p == protocol && r == reason)
                {
                    _seen.Add(value);
                }
            });
            _listener.Start();
        }

        public long Count => _seen.Sum();

        public void Dispose() => _listener.Dispose();
    }
}
