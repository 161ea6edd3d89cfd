using System.Diagnostics.Metrics;
using Microsoft.Extensions.Time.Testing;
using Wire.Enforcement.Transport;

namespace Wire.Enforcement.Tests.Transport;

/// <summary>The connection counting every listener shares: leases in total and per identity, refusals, the idle clock.</summary>
public sealed class ConnectionGateTests
{
    [Fact]
    public void A_lease_counts_the_connection_until_disposed_and_refuses_past_the_total()
    {
        var gate = new ConnectionGate(new ConnectionLimits { MaxConnections = 2 }, "postgres");
        using var first = gate.Enter();
        var second = gate.Enter();
        using var third = gate.Enter();
        Assert.True(first.Admitted);
        Assert.True(second.Admitted);
        Assert.False(third.Admitted);
        Assert.Equal("too many connections: this listener serves at most 2 at once (postgres.limits.maxConnections)", third.Refuse());
        Assert.Equal(2, gate.Count);

        second.Dispose();
        second.Dispose(); // once only
        Assert.Equal(1, gate.Count);
        using var fourth = gate.Enter();
        Assert.True(fourth.Admitted);
        third.Dispose(); // never counted: uncounts nothing
        Assert.Equal(2, gate.Count);
    }

    [Fact]
    public void An_identity_holds_at_most_its_limit_and_a_lease_moves_between_identities()
    {
        var gate = new ConnectionGate(new ConnectionLimits { MaxConnectionsPerIdentity = 1 }, "http");
        using var a = gate.Enter();
        using var b = gate.Enter();
        Assert.True(a.TryCountFor("alice", out _));
        Assert.True(a.TryCountFor("alice", out _)); // the same identity again counts once
        Assert.Equal(1, gate.CountOf("alice"));

        Assert.False(b.TryCountFor("alice", out string? refusal));
        Assert.Equal("too many connections for alice: at most 1 at once (http.limits.maxConnectionsPerIdentity)", refusal);
        Assert.Null(b.Subject);

        // A keep-alive connection whose next request is bob's counts for bob, no longer for alice.
        Assert.True(a.TryCountFor("bob", out _));
        Assert.Equal((0, 1), (gate.CountOf("alice"), gate.CountOf("bob")));
        Assert.True(b.TryCountFor("alice", out _));
        a.Dispose();
        Assert.Equal((1, 0), (gate.CountOf("alice"), gate.CountOf("bob")));
    }

    [Fact]
    public void Refusals_are_counted_with_the_protocol_and_the_reason()
    {
        var seen = new List<(long Value, string? Protocol, string? Reason)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "wire.connections.refused")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? protocol = null, reason = null;
            foreach (var tag in tags)
            {
                protocol = tag.Key == "network.protocol.name" ? (string?)tag.Value : protocol;
                reason = tag.Key == "wire.reason" ? (string?)tag.Value : reason;
            }
            if (protocol == "test-gate")
            {
                lock (seen)
                {
                    seen.Add((value, protocol, reason));
                }
            }
        });
        listener.Start();

        var gate = new ConnectionGate(new ConnectionLimits { MaxConnections = 1, MaxConnectionsPerIdentity = 1 }, "test-gate");
        using var first = gate.Enter();
        using var second = gate.Enter();
        second.Refuse();
        Assert.True(first.TryCountFor("alice", out _));
        using var third = gate.Enter();
        Assert.False(third.TryCountFor("alice", out _));

        Assert.Equal([(1L, "test-gate", "max_connections"), (1L, "test-gate", "max_connections_per_identity")], seen);
    }

    [Fact]
    public void The_idle_watch_fires_after_a_quiet_timeout_and_not_while_held_or_touched()
    {
        var time = new FakeTimeProvider();
        int fired = 0;
        using var watch = new IdleWatch(TimeSpan.FromSeconds(8), () => fired++, time);
        for (int i = 0; i < 10; i++)
        {
            time.Advance(TimeSpan.FromSeconds(2));
            watch.Touch();
        }
        using (watch.Hold())
        {
            time.Advance(TimeSpan.FromSeconds(20));
        }
        Assert.Equal(0, fired);
        time.Advance(TimeSpan.FromSeconds(12));
        Assert.Equal(1, fired);
        Assert.True(watch.Fired);
        time.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(1, fired);
    }
}
