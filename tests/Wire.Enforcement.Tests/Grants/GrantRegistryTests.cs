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
/// Just-in-time grants: who may decide, what a grant admits and for how long, what its end does to the sessions it
/// admitted, how rules that require a grant judge, and what is recorded.
/// </summary>
public sealed class GrantRegistryTests
{
    private static readonly WireIdentity Alice = new("alice", ["dev"], "token");
    private static readonly WireIdentity Bob = new("bob", ["ops"], "token");
    private static readonly WireIdentity Carol = new("carol", ["dev"], "token");

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));

    private GrantRegistry Registry(ISessionRecorderFactory? recorder = null, SessionRegistry? sessions = null) =>
        new(sessions ?? new SessionRegistry(_time), new GrantOptions { Approvers = ["ops"], MaxDuration = TimeSpan.FromHours(2) }, recorder, _time);

    private static Grant Ask(GrantRegistry registry, WireIdentity who, string target = "app", double minutes = 30)
    {
        Assert.Equal(GrantResult.Done, registry.Request(who, target, TimeSpan.FromMinutes(minutes), "incident 12", "127.0.0.1", out var grant));
        return grant!;
    }

    [Fact]
    public void A_grant_admits_its_requester_to_its_target_only_once_an_approver_agreed()
    {
        var registry = Registry();
        var grant = Ask(registry, Alice);
        Assert.Equal(GrantStatus.Pending, grant.Status);
        Assert.StartsWith("grant-", grant.Id, StringComparison.Ordinal);
        Assert.Null(registry.FindValid("alice", "app"));

        Assert.Equal(GrantResult.OwnRequest, registry.Approve(grant.Id, new WireIdentity("alice", ["ops"], "token"), out _));
        Assert.Equal(GrantResult.NotAllowed, registry.Approve(grant.Id, Carol, out _));
        Assert.Equal(GrantResult.NotFound, registry.Approve("grant-nope", Bob, out _));
        Assert.Null(registry.FindValid("alice", "app"));

        Assert.Equal(GrantResult.Done, registry.Approve(grant.Id, Bob, out var approved));
        Assert.Equal(GrantStatus.Active, approved!.Status);
        Assert.Equal("bob", approved.DecidedBy);
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromMinutes(30), approved.ExpiresAt);
        Assert.Equal(approved.Id, registry.FindValid("alice", "app")?.Id);
        Assert.Null(registry.FindValid("alice", "other"));
        Assert.Null(registry.FindValid("carol", "app"));
        Assert.Equal(GrantResult.Finished, registry.Approve(grant.Id, Bob, out _));
        Assert.Equal(GrantResult.Finished, registry.Deny(grant.Id, Bob, null, out _));

        _time.Advance(TimeSpan.FromMinutes(29));
        Assert.NotNull(registry.FindValid("alice", "app"));
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Null(registry.FindValid("alice", "app"));
        Assert.Equal(GrantStatus.Expired, registry.Find(grant.Id)!.Status);
    }

    [Fact]
    public void A_denied_grant_admits_nobody()
    {
        var registry = Registry();
        var grant = Ask(registry, Alice);
        Assert.Equal(GrantResult.Done, registry.Deny(grant.Id, Bob, "not during the freeze", out var denied));
        Assert.Equal(GrantStatus.Denied, denied!.Status);
        Assert.Equal("not during the freeze", denied.Note);
        Assert.Null(registry.FindValid("alice", "app"));
        Assert.Equal(GrantResult.Finished, registry.Approve(grant.Id, Bob, out _));
    }

    [Fact]
    public void Requests_out_of_range_are_refused()
    {
        var registry = Registry();
        Assert.Throws<ArgumentOutOfRangeException>(() => registry.Request(Alice, "app", TimeSpan.FromHours(3), "r", "c", out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => registry.Request(Alice, "app", TimeSpan.Zero, "r", "c", out _));
        Assert.Throws<ArgumentException>(() => registry.Request(Alice, "app", TimeSpan.FromMinutes(1), " ", "c", out _));
        Assert.Throws<ArgumentException>(() => new GrantRegistry(new SessionRegistry(), new GrantOptions { Approvers = [] }));
    }

    [Fact]
    public void Expiry_ends_the_sessions_the_grant_admitted_and_refuses_new_ones()
    {
        var sessions = new SessionRegistry(_time);
        var registry = Registry(sessions: sessions);
        var grant = Ask(registry, Alice, minutes: 10);
        registry.Approve(grant.Id, Bob, out _);

        using var admitted = sessions.Register(WireProtocol.Postgres, "app", "c", Alice, registry);
        using var free = sessions.Register(WireProtocol.Postgres, "other", "c", Alice);
        Assert.Equal(grant.Id, admitted.Grant);
        Assert.False(admitted.Terminated.IsCancellationRequested);

        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.True(admitted.Terminated.IsCancellationRequested);
        Assert.Equal($"ended because grant {grant.Id} for target \"app\" expired", admitted.TerminationReason);
        Assert.False(free.Terminated.IsCancellationRequested);

        // A connection checked just before the end registers after it: it is ended at once.
        using var late = sessions.Register(WireProtocol.Ssh, "app", "c", Alice, registry);
        Assert.True(late.Terminated.IsCancellationRequested);
        Assert.Contains("no valid grant for target \"app\"", late.TerminationReason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_session_moves_to_another_valid_grant_instead_of_ending()
    {
        var sessions = new SessionRegistry(_time);
        var registry = Registry(sessions: sessions);
        var first = Ask(registry, Alice, minutes: 10);
        registry.Approve(first.Id, Bob, out _);
        using var session = sessions.Register(WireProtocol.Http, "app", "c", Alice, registry);
        Assert.Equal(first.Id, session.Grant);

        _time.Advance(TimeSpan.FromMinutes(5));
        var second = Ask(registry, Alice, minutes: 10);
        registry.Approve(second.Id, Bob, out _);
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.False(session.Terminated.IsCancellationRequested);
        Assert.Equal(second.Id, session.Grant);

        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.True(session.Terminated.IsCancellationRequested);
    }

    [Fact]
    public void The_requester_withdraws_and_an_approver_revokes_nobody_else()
    {
        var sessions = new SessionRegistry(_time);
        var registry = Registry(sessions: sessions);
        var pending = Ask(registry, Alice);
        Assert.Equal(GrantResult.NotAllowed, registry.Revoke(pending.Id, Carol, out _));
        Assert.Equal(GrantResult.Done, registry.Revoke(pending.Id, Alice, out var withdrawn));
        Assert.Equal(GrantStatus.Revoked, withdrawn!.Status);
        Assert.Equal(GrantResult.Finished, registry.Revoke(pending.Id, Alice, out _));
        Assert.Equal(GrantResult.Finished, registry.Approve(pending.Id, Bob, out _));

        var active = Ask(registry, Alice);
        registry.Approve(active.Id, Bob, out _);
        using var session = sessions.Register(WireProtocol.Ssh, "app", "c", Alice, registry);
        Assert.Equal(GrantResult.Done, registry.Revoke(active.Id, Bob, out var revoked));
        Assert.Equal("bob", revoked!.Note);
        Assert.True(session.Terminated.IsCancellationRequested);
        Assert.Equal($"ended because grant {active.Id} for target \"app\" was revoked by bob", session.TerminationReason);
        Assert.Null(registry.FindValid("alice", "app"));
    }

    [Fact]
    public void Approvers_see_everything_and_the_list_is_newest_first()
    {
        var registry = Registry();
        var a = Ask(registry, Alice);
        _time.Advance(TimeSpan.FromSeconds(1));
        var c = Ask(registry, Carol, target: "db");
        Assert.Equal([c.Id, a.Id], registry.List().Select(g => g.Id));
        Assert.True(registry.IsApprover(Bob));
        Assert.False(registry.IsApprover(Alice));
    }

    [Fact]
    public void Rules_that_require_a_grant_deny_without_one()
    {
        var rules = RuleSet.Create(
        [
            new RuleDefinition { Name = "prod-deletes", Action = PolicyAction.Allow, Statements = [StatementKind.Delete], RequireGrant = true },
            new RuleDefinition { Name = "prod-updates", Action = PolicyAction.Review, Statements = [StatementKind.Update], RequireGrant = true,
                Approvers = ["ops"] },
        ], PolicyAction.Allow);
        var registry = Registry();
        var delete = new AccessRequest(StatementKindSet.Of(StatementKind.Delete), false, ["t"], [], "delete from t");
        var update = new AccessRequest(StatementKindSet.Of(StatementKind.Update), false, ["t"], [], "update t set a = 1");
        var select = new AccessRequest(StatementKindSet.Of(StatementKind.Select), false, [], [], "select 1");

        var policy = rules.ForSession(WireProtocol.Postgres, "app", Alice, registry);
        var denied = policy.Evaluate(delete);
        Assert.Equal(PolicyAction.Deny, denied.Action);
        Assert.Equal("prod-deletes", denied.Rule);
        Assert.Contains("no valid grant for target \"app\"", denied.Message, StringComparison.Ordinal);
        Assert.Equal(PolicyAction.Deny, policy.Evaluate(update).Action);
        Assert.Equal(PolicyAction.Allow, policy.Evaluate(select).Action);

        var grant = Ask(registry, Alice);
        registry.Approve(grant.Id, Bob, out _);
        Assert.Equal(PolicyAction.Allow, policy.Evaluate(delete).Action);
        Assert.Equal(PolicyAction.Review, policy.Evaluate(update).Action);
        // The grant is for alice on app: not for carol, nor for alice elsewhere, nor without grants at all.
        Assert.Equal(PolicyAction.Deny, rules.ForSession(WireProtocol.Postgres, "app", Carol, registry).Evaluate(delete).Action);
        Assert.Equal(PolicyAction.Deny, rules.ForSession(WireProtocol.Postgres, "db", Alice, registry).Evaluate(delete).Action);
        Assert.Equal(PolicyAction.Deny, rules.ForSession(WireProtocol.Postgres, "app", Alice).Evaluate(delete).Action);

        _time.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal(PolicyAction.Deny, policy.Evaluate(delete).Action);
    }

    [Theory]
    [InlineData(PolicyAction.Deny)]
    [InlineData(PolicyAction.Mask)]
    public void Only_allow_and_review_rules_may_require_a_grant(PolicyAction action)
    {
        var e = Assert.Throws<RuleValidationException>(() => RuleSet.Create(
            [new RuleDefinition { Name = "r", Action = action, RequireGrant = true, Detectors = action == PolicyAction.Mask ? ["email"] : null }]));
        Assert.Equal("requireGrant", e.Key);
    }

    [Fact]
    public async Task Each_grant_is_recorded_from_request_to_end_and_verifies()
    {
        using var fixture = new RecordingFixture();
        var registry = Registry(fixture.Factory());
        var grant = Ask(registry, Alice, minutes: 10);
        Assert.NotNull(grant.Recording);
        registry.Approve(grant.Id, Bob, out _);
        _time.Advance(TimeSpan.FromMinutes(10));

        string path = fixture.PathOf(grant.Recording!);
        // The recording completes in the background once the grant has expired.
        for (int i = 0; i < 200 && !(File.Exists(path) && RecordingVerifier.VerifyFile(path, RecordingFixture.Key).IsValid); i++)
        {
            await Task.Delay(50);
        }
        Assert.True(RecordingVerifier.VerifyFile(path, RecordingFixture.Key).IsValid);
        var records = File.ReadLines(path).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(["session.start", "grant.requested", "grant.approved", "grant.expired", "session.end"],
            records.Select(r => r.GetProperty("type").GetString()));
        Assert.Equal("grant", records[0].GetProperty("protocol").GetString());
        Assert.Equal("alice", records[0].GetProperty("subject").GetString());
        Assert.Equal("app", records[0].GetProperty("target").GetString());
        Assert.Equal(grant.Id, records[1].GetProperty("grant").GetString());
        Assert.Equal("00:10:00", records[1].GetProperty("duration").GetString());
        Assert.Equal("incident 12", records[1].GetProperty("reason").GetString());
        Assert.Equal("bob", records[2].GetProperty("by").GetString());
        Assert.True(records[2].TryGetProperty("expires", out _));
    }

    [Fact]
    public async Task Stopping_completes_the_recordings_of_open_grants()
    {
        using var fixture = new RecordingFixture();
        var registry = Registry(fixture.Factory());
        var grant = Ask(registry, Alice);
        await registry.DisposeAsync();
        var verification = RecordingVerifier.VerifyFile(fixture.PathOf(grant.Recording!), RecordingFixture.Key);
        Assert.True(verification.IsValid, verification.Detail);
        Assert.Throws<InvalidOperationException>(() => registry.Request(Alice, "app", TimeSpan.FromMinutes(1), "again", "c", out _));
    }

    [Fact]
    public void A_grant_that_cannot_be_recorded_is_not_asked_for_or_approved_unless_the_operator_allows_it()
    {
        var failing = new FailingRecorders(RecordingFailureMode.Deny);
        var registry = Registry(failing);
        Assert.Equal(GrantResult.RecorderFailed, registry.Request(Alice, "app", TimeSpan.FromMinutes(5), "r", "c", out var refused));
        Assert.Null(refused);
        Assert.Empty(registry.List());

        var tolerant = Registry(new FailingRecorders(RecordingFailureMode.Allow));
        Assert.Equal(GrantResult.Done, tolerant.Request(Alice, "app", TimeSpan.FromMinutes(5), "r", "c", out var grant));
        Assert.Equal(GrantResult.Done, tolerant.Approve(grant!.Id, Bob, out _));
    }

    /// <summary>Recorders whose every write fails, as on a full disk.</summary>
    private sealed class FailingRecorders(RecordingFailureMode mode) : ISessionRecorderFactory
    {
        public RecordingFailureMode OnFailure => mode;

        public ISessionRecorder Start(string sessionId, SessionStartEvent start) => new Failing(sessionId);

        private sealed class Failing(string id) : ISessionRecorder
        {
            public string SessionId => id;

            public bool IsHealthy => false;

            public bool TryRecord(RecordEvent recordEvent) => false;

            public ValueTask CompleteAsync(string reason, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }
}
