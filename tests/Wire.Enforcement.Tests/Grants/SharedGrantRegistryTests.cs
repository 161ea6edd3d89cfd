using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Wire.Enforcement.Grants;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Recording;
using Wire.Enforcement.Sessions;
using Wire.Enforcement.Tests.Recording;

namespace Wire.Enforcement.Tests.Grants;

/// <summary>
/// Two gateway instances' registries over one grant store: what the first decision wins, what each instance applies to
/// its own sessions, and what the requesting instance records, whatever order the news arrives in. (The store here keeps
/// rows in memory and delivers news when the test says; SharedStateTests runs the same over PostgreSQL with two gateways.)
/// </summary>
public sealed class SharedGrantRegistryTests
{
    private static readonly WireIdentity Alice = new("alice", ["dev"], "token");
    private static readonly WireIdentity Bob = new("bob", ["ops"], "token");
    private static readonly WireIdentity Dana = new("dana", ["ops"], "token");

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));
    private readonly SharedStore _store = new();

    private GrantRegistry Instance(SessionRegistry sessions, ISessionRecorderFactory? recorder = null)
    {
        var registry = new GrantRegistry(sessions, new GrantOptions { Approvers = ["ops"] }, recorder, _time);
        registry.Store = _store;
        _store.Registries.Add(registry);
        return registry;
    }

    [Fact]
    public async Task Approved_through_one_instance_admits_on_the_other_and_revoked_through_it_ends_the_session_there()
    {
        using var fixture = new RecordingFixture();
        var sessionsA = new SessionRegistry(_time);
        var a = Instance(sessionsA, fixture.Factory());
        var b = Instance(new SessionRegistry(_time));

        Assert.Equal(GrantResult.Done, a.Request(Alice, "app", TimeSpan.FromMinutes(30), "incident 7", "c", out var grant));
        Assert.Null(b.Find(grant!.Id));
        _store.Deliver();
        Assert.Equal(GrantStatus.Pending, b.Find(grant.Id)?.Status);

        Assert.Equal(GrantResult.Done, b.Approve(grant.Id, Bob, out _));
        Assert.Null(a.FindValid("alice", "app")); // not yet heard of
        _store.Deliver();
        _store.Deliver(); // news twice changes nothing
        Assert.Equal(grant.Id, a.FindValid("alice", "app")?.Id);
        using var session = sessionsA.Register(WireProtocol.Postgres, "app", "c", Alice, a);
        Assert.False(session.Terminated.IsCancellationRequested);

        Assert.Equal(GrantResult.Done, b.Revoke(grant.Id, Dana, out _));
        _store.Deliver();
        Assert.True(session.Terminated.IsCancellationRequested);
        Assert.Equal($"ended because grant {grant.Id} for target \"app\" was revoked by dana", session.TerminationReason);

        // The requesting instance kept the recording, each change once.
        string path = fixture.PathOf(grant.Recording!);
        for (int i = 0; i < 200 && !(File.Exists(path) && RecordingVerifier.VerifyFile(path, RecordingFixture.Key).IsValid); i++)
        {
            await Task.Delay(50);
        }
        var records = File.ReadLines(path).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["session.start", "grant.requested", "grant.approved", "grant.revoked", "session.end"],
            records.Select(r => r.GetProperty("type").GetString()));
        Assert.Equal("bob", records[2].GetProperty("by").GetString());
        Assert.Equal("dana", records[3].GetProperty("by").GetString());
    }

    [Fact]
    public void The_first_decision_wins_and_the_other_instance_is_told_finished()
    {
        var a = Instance(new SessionRegistry(_time));
        var b = Instance(new SessionRegistry(_time));
        a.Request(Alice, "app", TimeSpan.FromMinutes(30), "r", "c", out var grant);
        _store.Deliver();

        // Both see it pending; A's approval reaches the store first.
        Assert.Equal(GrantResult.Done, a.Approve(grant!.Id, Bob, out _));
        Assert.Equal(GrantResult.Finished, b.Deny(grant.Id, Dana, "no", out var seen));
        Assert.Equal(GrantStatus.Active, seen!.Status);
        Assert.Equal(GrantStatus.Active, b.Find(grant.Id)?.Status); // the winner's change, applied at once
        _store.Deliver();
        Assert.Equal(GrantStatus.Active, a.Find(grant.Id)?.Status);
        Assert.Equal("bob", _store.Rows[grant.Id].DecidedBy);
    }

    [Fact]
    public async Task Both_instances_expire_a_grant_and_its_recording_says_so_once()
    {
        using var fixture = new RecordingFixture();
        var a = Instance(new SessionRegistry(_time), fixture.Factory());
        var b = Instance(new SessionRegistry(_time));
        a.Request(Alice, "app", TimeSpan.FromMinutes(10), "r", "c", out var grant);
        _store.Deliver();
        b.Approve(grant!.Id, Bob, out _);
        _store.Deliver();

        _time.Advance(TimeSpan.FromMinutes(10)); // both timers fire; one change reaches the store
        _store.Deliver();
        Assert.Equal(GrantStatus.Expired, a.Find(grant.Id)?.Status);
        Assert.Equal(GrantStatus.Expired, b.Find(grant.Id)?.Status);

        string path = fixture.PathOf(grant.Recording!);
        for (int i = 0; i < 200 && !(File.Exists(path) && RecordingVerifier.VerifyFile(path, RecordingFixture.Key).IsValid); i++)
        {
            await Task.Delay(50);
        }
        Assert.Equal(1, File.ReadLines(path).Count(l => l.Contains("\"grant.expired\"", StringComparison.Ordinal)));
    }

    [Fact]
    public void An_unreachable_store_changes_nothing_but_time_still_ends_a_grant()
    {
        var a = Instance(new SessionRegistry(_time));
        a.Request(Alice, "app", TimeSpan.FromMinutes(10), "r", "c", out var grant);
        a.Approve(grant!.Id, Bob, out _);

        _store.Down = true;
        Assert.Equal(GrantResult.Unavailable, a.Request(Alice, "db", TimeSpan.FromMinutes(10), "r", "c", out _));
        Assert.Equal(GrantResult.Unavailable, a.Revoke(grant.Id, Dana, out _));
        Assert.NotNull(a.FindValid("alice", "app"));

        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.Null(a.FindValid("alice", "app"));
        Assert.Equal(GrantStatus.Expired, a.Find(grant.Id)?.Status);
    }

    [Fact]
    public void An_approval_the_requesting_instance_cannot_record_is_revoked_there()
    {
        var a = Instance(new SessionRegistry(_time), new RecordsOnlyTheRequest());
        var b = Instance(new SessionRegistry(_time));
        a.Request(Alice, "app", TimeSpan.FromMinutes(30), "r", "c", out var grant);
        _store.Deliver();
        Assert.Equal(GrantResult.Done, b.Approve(grant!.Id, Bob, out _));
        _store.Deliver();
        _store.Deliver();
        Assert.Equal(GrantStatus.Revoked, _store.Rows[grant.Id].Status);
        Assert.Null(a.FindValid("alice", "app"));
        Assert.Null(b.FindValid("alice", "app"));
    }

    /// <summary>Rows in memory; news of each change waits for <see cref="Deliver"/>, as NOTIFY arrives later.</summary>
    private sealed class SharedStore : IGrantStore
    {
        private readonly Queue<string> _news = new();

        public Dictionary<string, Grant> Rows { get; } = [];

        public List<GrantRegistry> Registries { get; } = [];

        public bool Down { get; set; }

        public IReadOnlyList<Grant> Load() => [.. Rows.Values];

        public void Add(Grant grant)
        {
            ThrowIfDown();
            Rows.Add(grant.Id, grant);
            _news.Enqueue(grant.Id);
        }

        public (bool Replaced, Grant? Stored) Replace(Grant next, GrantStatus expected)
        {
            ThrowIfDown();
            if (!Rows.TryGetValue(next.Id, out var stored) || stored.Status != expected)
            {
                return (false, stored);
            }
            Rows[next.Id] = next;
            _news.Enqueue(next.Id);
            return (true, next);
        }

        /// <summary>Tells every instance of every change so far.</summary>
        public void Deliver()
        {
            var ids = _news.ToList();
            _news.Clear();
            foreach (var id in ids.Count > 0 ? ids : [.. Rows.Keys])
            {
                foreach (var registry in Registries)
                {
                    registry.Apply(Rows[id]);
                }
            }
        }

        private void ThrowIfDown()
        {
            if (Down)
            {
                throw new IOException("connection refused");
            }
        }
    }

    /// <summary>A recorder whose disk fills after the grant's request: later changes cannot be recorded.</summary>
    private sealed class RecordsOnlyTheRequest : ISessionRecorderFactory
    {
        public RecordingFailureMode OnFailure => RecordingFailureMode.Deny;

        public ISessionRecorder Start(string sessionId, SessionStartEvent start) => new Recorder(sessionId);

        private sealed class Recorder(string id) : ISessionRecorder
        {
            public string SessionId => id;

            public bool IsHealthy => false;

            public bool TryRecord(RecordEvent recordEvent) => recordEvent is GrantEvent { RecordType: GrantEvent.Requested };

            public ValueTask CompleteAsync(string reason, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
