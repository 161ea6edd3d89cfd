using System.Collections.Concurrent;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Sessions;

namespace Wire.Enforcement.Tests.Sessions;

public sealed class SessionRegistryTests
{
    private static readonly WireIdentity Alice = new("alice", ["eng"], "static-token");
    private static readonly WireIdentity Bob = new("bob", ["ops"], "oidc");

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void Register_lists_the_session_with_what_it_was_given()
    {
        var clock = new ManualClock(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var registry = new SessionRegistry(clock);
        using var session = registry.Register(WireProtocol.Postgres, "app", "10.0.0.5:51000", Alice);

        var listed = Assert.Single(registry.Active);
        Assert.Same(session, listed);
        Assert.Equal(WireProtocol.Postgres, session.Protocol);
        Assert.Equal("app", session.Target);
        Assert.Equal("10.0.0.5:51000", session.Client);
        Assert.Same(Alice, session.Identity);
        Assert.Equal(clock.Now, session.Started);
        Assert.Matches("^pg-[0-9a-f]{16}$", session.Id);
        Assert.Equal(0, session.BytesFromClient);
        Assert.Equal(0, session.BytesToClient);
        Assert.Equal(0, session.Commands);
        Assert.False(session.Terminated.IsCancellationRequested);
        Assert.Null(session.TerminationReason);
    }

    [Fact]
    public void Ids_carry_the_protocol_and_are_url_safe()
    {
        var registry = new SessionRegistry();
        using var pg = registry.Register(WireProtocol.Postgres, "db", "c", Alice);
        using var ssh = registry.Register(WireProtocol.Ssh, "host", "c", Alice);
        using var http = registry.Register(WireProtocol.Http, "api", "c", Alice);
        Assert.StartsWith("pg-", pg.Id, StringComparison.Ordinal);
        Assert.StartsWith("ssh-", ssh.Id, StringComparison.Ordinal);
        Assert.StartsWith("http-", http.Id, StringComparison.Ordinal);
        foreach (var id in new[] { pg.Id, ssh.Id, http.Id })
        {
            Assert.Equal(id, Uri.EscapeDataString(id));
        }
    }

    [Fact]
    public void Active_is_oldest_first_and_a_snapshot()
    {
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        var registry = new SessionRegistry(clock);
        var sessions = new List<LiveSession>();
        for (int i = 0; i < 20; i++)
        {
            clock.Now = clock.Now.AddSeconds(1);
            sessions.Add(registry.Register(WireProtocol.Ssh, "t" + i, "c", Alice));
        }
        var snapshot = registry.Active;
        Assert.Equal(sessions.Select(s => s.Id), snapshot.Select(s => s.Id));

        sessions[3].Dispose();
        using var late = registry.Register(WireProtocol.Http, "late", "c", Bob);
        Assert.Equal(20, snapshot.Count);
        Assert.Contains(snapshot, s => s.Id == sessions[3].Id);
        var now = registry.Active;
        Assert.Equal(20, now.Count);
        Assert.DoesNotContain(now, s => s.Id == sessions[3].Id);
        Assert.Same(late, now[^1]);
        foreach (var session in sessions)
        {
            session.Dispose();
        }
    }

    [Fact]
    public void Dispose_unregisters_and_is_idempotent()
    {
        var registry = new SessionRegistry();
        var first = registry.Register(WireProtocol.Postgres, "app", "c", Alice);
        using var second = registry.Register(WireProtocol.Postgres, "app", "c", Alice);
        first.Dispose();
        first.Dispose();
        Assert.Same(second, Assert.Single(registry.Active));
        Assert.False(registry.TryTerminate(first.Id, "too late"));
        Assert.False(first.Terminated.IsCancellationRequested);
        Assert.Null(first.TerminationReason);
    }

    [Fact]
    public async Task TryTerminate_fires_the_token_with_the_reason()
    {
        var registry = new SessionRegistry();
        using var session = registry.Register(WireProtocol.Ssh, "host", "c", Alice);
        using var other = registry.Register(WireProtocol.Ssh, "host", "c", Alice);
        var fired = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = session.Terminated.Register(() => fired.TrySetResult(session.TerminationReason));

        Assert.True(registry.TryTerminate(session.Id, "incident 42"));
        Assert.True(session.Terminated.IsCancellationRequested);
        Assert.Equal("ended by an administrator: incident 42", session.TerminationReason);
        Assert.Equal("ended by an administrator: incident 42", await fired.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(other.Terminated.IsCancellationRequested);

        // Still live until the session ends: a second call succeeds but keeps the first reason.
        Assert.Equal(2, registry.Active.Count);
        Assert.True(registry.TryTerminate(session.Id, "again"));
        Assert.Equal("ended by an administrator: incident 42", session.TerminationReason);

        session.Dispose();
        Assert.False(registry.TryTerminate(session.Id, "after the end"));
        Assert.False(registry.TryTerminate("pg-0000000000000000", "nobody"));
        Assert.False(registry.TryTerminate("", "nobody"));
    }

    [Fact]
    public void A_callback_that_blocks_does_not_block_TryTerminate()
    {
        var registry = new SessionRegistry();
        using var session = registry.Register(WireProtocol.Http, "api", "c", Alice);
        using var release = new ManualResetEventSlim();
        using var registration = session.Terminated.Register(() => release.Wait(TimeSpan.FromSeconds(30)));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.True(registry.TryTerminate(session.Id, "now"));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10));
        release.Set();
    }

    [Fact]
    public void TerminateWhere_ends_the_matching_sessions_and_counts_them()
    {
        var registry = new SessionRegistry();
        using var a1 = registry.Register(WireProtocol.Postgres, "db", "c", Alice);
        using var a2 = registry.Register(WireProtocol.Ssh, "host", "c", Alice);
        using var b1 = registry.Register(WireProtocol.Http, "api", "c", Bob);
        var a3 = registry.Register(WireProtocol.Http, "api", "c", Alice);
        a3.Dispose();

        Assert.Equal(2, registry.TerminateWhere(s => s.Identity.Subject == "alice", "grant expired"));
        Assert.True(a1.Terminated.IsCancellationRequested);
        Assert.True(a2.Terminated.IsCancellationRequested);
        Assert.False(b1.Terminated.IsCancellationRequested);
        Assert.False(a3.Terminated.IsCancellationRequested);
        Assert.Equal("grant expired", a2.TerminationReason);

        // Already terminated: not counted again.
        Assert.Equal(0, registry.TerminateWhere(s => s.Identity.Subject == "alice", "again"));
        Assert.Equal(1, registry.TerminateWhere(_ => true, "shutdown"));
        Assert.Equal("shutdown", b1.TerminationReason);
        Assert.Equal("grant expired", a1.TerminationReason);
    }

    [Fact]
    public void Counters_add_up()
    {
        var registry = new SessionRegistry();
        using var session = registry.Register(WireProtocol.Postgres, "db", "c", Alice);
        session.AddBytes(10, 0);
        session.AddBytes(0, 25);
        session.AddBytes(5, 5);
        session.CountCommand();
        session.CountCommand();
        Assert.Equal(15, session.BytesFromClient);
        Assert.Equal(30, session.BytesToClient);
        Assert.Equal(2, session.Commands);
    }

    [Fact]
    public async Task Many_threads_register_count_and_dispose()
    {
        var registry = new SessionRegistry();
        using var keeper = registry.Register(WireProtocol.Ssh, "keep", "c", Bob);
        var ids = new ConcurrentBag<string>();
        const int Threads = 8;
        const int PerThread = 2000;
        using var start = new Barrier(Threads);
        var workers = Enumerable.Range(0, Threads).Select(t => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            for (int i = 0; i < PerThread; i++)
            {
                var session = registry.Register((WireProtocol)(i % 3), "t", "c", Alice);
                ids.Add(session.Id);
                session.AddBytes(1, 2);
                session.CountCommand();
                keeper.AddBytes(1, 1);
                keeper.CountCommand();
                if (i % 7 == 0)
                {
                    registry.TryTerminate(session.Id, "racing");
                }
                if (i % 50 == 0)
                {
                    _ = registry.Active;
                }
                session.Dispose();
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(Threads * PerThread, ids.Count);
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.Same(keeper, Assert.Single(registry.Active));
        Assert.Equal(Threads * PerThread, keeper.BytesFromClient);
        Assert.Equal(Threads * PerThread, keeper.BytesToClient);
        Assert.Equal(Threads * PerThread, keeper.Commands);
    }

    [Fact]
    public void Terminate_racing_dispose_never_throws()
    {
        var registry = new SessionRegistry();
        for (int i = 0; i < 2000; i++)
        {
            var session = registry.Register(WireProtocol.Postgres, "db", "c", Alice);
            Parallel.Invoke(() => registry.TryTerminate(session.Id, "x"), session.Dispose, () => registry.TerminateWhere(_ => true, "y"));
        }
        Assert.Empty(registry.Active);
    }

    [Fact]
    public void Arguments_are_checked()
    {
        var registry = new SessionRegistry();
        Assert.Throws<ArgumentNullException>(() => registry.Register(WireProtocol.Postgres, null!, "c", Alice));
        Assert.Throws<ArgumentNullException>(() => registry.Register(WireProtocol.Postgres, "t", "c", null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => registry.Register((WireProtocol)99, "t", "c", Alice));
        Assert.Throws<ArgumentNullException>(() => registry.TerminateWhere(null!, "r"));
        Assert.Empty(registry.Active);
    }
}
