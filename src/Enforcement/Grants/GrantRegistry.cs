using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Wire.Enforcement.Diagnostics;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Recording;
using Wire.Enforcement.Sessions;

namespace Wire.Enforcement.Grants;

/// <summary>
/// Just-in-time grants of one gateway (issue 9; DESIGN.md §1): an identity asks for a target for a while, an approver
/// agrees, and until the grant expires the identity may reach targets and rules that require a grant. When a grant ends
/// (expiry or revocation) the sessions it admitted are ended, unless another valid grant of the same identity for the
/// same target takes them over. Every grant has its own recording (request, decision, end), kept by the instance it was
/// asked through. Grants live in memory, where a restart ends them all (fail closed), or, for gateway instances that
/// share state, in a store: each change is made there first (compare-and-set, so two instances never both decide a
/// grant) and reaches the other instances, whose registries apply it to their own sessions. Thread-safe.
/// </summary>
public sealed partial class GrantRegistry : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _grants = new(StringComparer.Ordinal);
    private readonly Queue<string> _ended = new();
    private readonly ISessionRecorderFactory? _recorder;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private bool _stopped;
    private IGrantStore? _store;

    /// <summary>Creates an empty registry.</summary>
    /// <param name="sessions">The live sessions; a grant's end ends the sessions it admitted.</param>
    /// <param name="options">Who approves and how long a grant may last.</param>
    /// <param name="recorder">Records each grant's life; null records nothing.</param>
    /// <param name="time">The clock for expiry; null for the system clock.</param>
    /// <param name="logger">Where grant decisions are logged.</param>
    public GrantRegistry(SessionRegistry sessions, GrantOptions options, ISessionRecorderFactory? recorder = null, TimeProvider? time = null,
        ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Approvers is not { Count: > 0 })
        {
            throw new ArgumentException("grants need at least one approver group", nameof(options));
        }
        if (options.MaxDuration <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxDuration, "the maximum duration must be positive");
        }
        Sessions = sessions;
        Options = options;
        _recorder = recorder;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The live sessions this registry ends when their grant ends.</summary>
    public SessionRegistry Sessions { get; }

    /// <summary>Who approves and how long a grant may last.</summary>
    public GrantOptions Options { get; }

    /// <summary>
    /// Where grants are shared with other gateway instances; null keeps them in this process. Set once, before the first
    /// request; the store's grants are loaded then, and the store reports other instances' changes to <see cref="Apply"/>.
    /// </summary>
    internal IGrantStore? Store
    {
        get => _store;
        set
        {
            _store = value ?? throw new ArgumentNullException(nameof(value));
            foreach (var grant in value.Load())
            {
                ApplyChange(grant, madeHere: false);
            }
        }
    }

    /// <summary>Raised after every change (request, decision, end) with the grant's new state; never under a lock.</summary>
    public event Action<Grant>? Changed;

    /// <summary>The error text for a connection or execution that needs a grant it does not have.</summary>
    /// <param name="target">The target's name.</param>
    public static string NoGrantMessage(string target) =>
        $"no valid grant for target \"{target}\": ask for one (POST /api/grants on the admin API) and wait for its approval";

    /// <summary>Whether <paramref name="identity"/> may approve, deny and revoke grants.</summary>
    /// <param name="identity">The caller.</param>
    public bool IsApprover(WireIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(identity);
        foreach (var group in Options.Approvers)
        {
            if (identity.IsInGroup(group))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Every grant still known (pending, active, and the most recent ended ones), newest first.</summary>
    public IReadOnlyList<Grant> List()
    {
        lock (_gate)
        {
            return [.. _grants.Values.Select(e => e.Grant).OrderByDescending(g => g.RequestedAt).ThenByDescending(g => g.Id, StringComparer.Ordinal)];
        }
    }

    /// <summary>Grant <paramref name="id"/>, or null when unknown.</summary>
    /// <param name="id">The grant's id.</param>
    public Grant? Find(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        lock (_gate)
        {
            return _grants.TryGetValue(id, out var entry) ? entry.Grant : null;
        }
    }

    /// <summary>The valid grant that admits <paramref name="subject"/> to <paramref name="target"/> now, or null.</summary>
    /// <param name="subject">The identity's subject.</param>
    /// <param name="target">The target's name.</param>
    public Grant? FindValid(string subject, string target)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(target);
        lock (_gate)
        {
            return FindValidLocked(subject, target, _time.GetUtcNow(), except: null);
        }
    }

    /// <summary>
    /// Asks for a grant on behalf of <paramref name="requester"/>; the grant starts <see cref="GrantStatus.Pending"/>.
    /// <see cref="GrantResult.RecorderFailed"/> when its recording cannot start and <c>recording.onFailure</c> is
    /// <c>deny</c>.
    /// </summary>
    /// <param name="requester">Who asks (and who the grant will admit).</param>
    /// <param name="target">The target's name.</param>
    /// <param name="duration">How long the grant lasts once approved: positive, at most <see cref="GrantOptions.MaxDuration"/>.</param>
    /// <param name="reason">Why, for the approvers; not empty.</param>
    /// <param name="client">Where the request came from, for the recording.</param>
    /// <param name="grant">The new grant.</param>
    /// <exception cref="ArgumentException">The duration or reason is out of range.</exception>
    /// <exception cref="InvalidOperationException">The registry was stopped.</exception>
    public GrantResult Request(WireIdentity requester, string target, TimeSpan duration, string reason, string client, out Grant? grant)
    {
        ArgumentNullException.ThrowIfNull(requester);
        ArgumentException.ThrowIfNullOrWhiteSpace(target);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        ArgumentNullException.ThrowIfNull(client);
        if (duration <= TimeSpan.Zero || duration > Options.MaxDuration)
        {
            throw new ArgumentOutOfRangeException(nameof(duration), duration, $"a grant lasts more than 0 and at most {Options.MaxDuration:c}");
        }

        grant = null;
        var now = _time.GetUtcNow();
        string id = "grant-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        ISessionRecorder? recording = null;
        if (_recorder is not null)
        {
            recording = _recorder.Start(RecordingSessions.NewId(),
                new SessionStartEvent("grant", requester.Subject, requester.Groups, client, target, Tls: false));
            if (!recording.TryRecord(new GrantEvent(GrantEvent.Requested, id) { Duration = duration, Reason = reason })
                && _recorder.OnFailure == RecordingFailureMode.Deny)
            {
                _ = RecordingSessions.CompleteAsync(recording, "grant request refused: the recording failed");
                Log.RecorderFailed(_logger, requester.Subject, target);
                return GrantResult.RecorderFailed;
            }
        }

        var created = new Grant(id, requester, target, duration, reason, now) { Status = GrantStatus.Pending, Recording = recording?.SessionId };
        if (_store is { } store)
        {
            try
            {
                store.Add(created);
            }
            catch (Exception e) when (IGrantStore.IsUnavailable(e))
            {
                _ = RecordingSessions.CompleteAsync(recording, "grant request refused: the shared state is unavailable");
                Log.StoreFailed(_logger, id, e.Message);
                return GrantResult.Unavailable;
            }
        }
        lock (_gate)
        {
            if (_stopped)
            {
                _ = RecordingSessions.CompleteAsync(recording, "gateway stopped");
                throw new InvalidOperationException("the grant registry is stopped");
            }
            // Another instance may not have told of it yet, but the store may (this instance hears its own changes too).
            _grants[id] = new Entry(created, recording);
        }
        grant = created;
        Log.Requested(_logger, requester.Subject, id, target, duration, reason);
        WireDiagnostics.Grants.Add(1, new KeyValuePair<string, object?>("wire.outcome", "requested"));
        Changed?.Invoke(created);
        return GrantResult.Done;
    }

    /// <summary>Approves a pending grant: it becomes <see cref="GrantStatus.Active"/> until now plus its duration.</summary>
    /// <param name="id">The grant's id.</param>
    /// <param name="approver">Who approves: in an approver group, not the requester.</param>
    /// <param name="grant">The grant's state after the call, or null when unknown.</param>
    public GrantResult Approve(string id, WireIdentity approver, out Grant? grant) => Decide(id, approver, approve: true, note: null, out grant);

    /// <summary>Denies a pending grant.</summary>
    /// <param name="id">The grant's id.</param>
    /// <param name="approver">Who denies: in an approver group, not the requester.</param>
    /// <param name="reason">Why, for the requester; optional.</param>
    /// <param name="grant">The grant's state after the call, or null when unknown.</param>
    public GrantResult Deny(string id, WireIdentity approver, string? reason, out Grant? grant) => Decide(id, approver, approve: false, reason, out grant);

    /// <summary>
    /// Ends a pending or active grant early: its requester may withdraw it, an approver may revoke it. The sessions it
    /// admitted end as on expiry.
    /// </summary>
    /// <param name="id">The grant's id.</param>
    /// <param name="caller">The requester or an approver.</param>
    /// <param name="grant">The grant's state after the call, or null when unknown.</param>
    public GrantResult Revoke(string id, WireIdentity caller, out Grant? grant)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(caller);
        Grant current;
        lock (_gate)
        {
            if (!_grants.TryGetValue(id, out var entry))
            {
                grant = null;
                return GrantResult.NotFound;
            }
            current = grant = entry.Grant;
            if (!string.Equals(current.Requester.Subject, caller.Subject, StringComparison.Ordinal) && !IsApprover(caller))
            {
                return GrantResult.NotAllowed;
            }
            if (current.Status is not (GrantStatus.Pending or GrantStatus.Active))
            {
                return GrantResult.Finished;
            }
        }
        // Ending access is never refused for want of a record (that would keep it open).
        var result = Commit(current, current with { Status = GrantStatus.Revoked, EndedAt = _time.GetUtcNow(), Note = caller.Subject }, out grant);
        if (result == GrantResult.Done)
        {
            Log.Revoked(_logger, caller.Subject, id);
        }
        return result;
    }

    /// <summary>
    /// Binds a session that needs a grant to the valid grant of its subject for its target, so that the grant's end ends
    /// it; false when there is none now (the caller then refuses or ends the session).
    /// </summary>
    /// <param name="session">The registered session.</param>
    public bool Admit(LiveSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        lock (_gate)
        {
            var grant = FindValidLocked(session.Identity.Subject, session.Target, _time.GetUtcNow(), except: null);
            session.Grant = grant?.Id;
            return grant is not null;
        }
    }

    /// <summary>
    /// Stops the registry (the gateway is stopping) and completes the recordings it keeps. Grants in memory end with it;
    /// grants in a shared store live on there for the other instances.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        List<Entry> open;
        lock (_gate)
        {
            _stopped = true;
            open = [.. _grants.Values.Where(e => e.Grant.Status is GrantStatus.Pending or GrantStatus.Active)];
            foreach (var entry in open)
            {
                entry.Timer?.Dispose();
            }
        }
        string reason = _store is null
            ? "gateway stopped: grants are not kept across restarts"
            : "this gateway instance stopped: the grant lives on in the shared state";
        foreach (var entry in open)
        {
            await RecordingSessions.CompleteAsync(entry.Recording, reason).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A change another gateway instance made (or this one, heard back through the store): applied when it moves the grant
    /// forward (pending, then active, then ended; an ended grant never changes again), so late or repeated news is ignored.
    /// </summary>
    /// <param name="grant">The grant as stored.</param>
    internal void Apply(Grant grant) => ApplyChange(grant, madeHere: false);

    private GrantResult Decide(string id, WireIdentity approver, bool approve, string? note, out Grant? grant)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(approver);
        Grant current;
        lock (_gate)
        {
            if (!_grants.TryGetValue(id, out var entry))
            {
                grant = null;
                return GrantResult.NotFound;
            }
            current = grant = entry.Grant;
            if (string.Equals(current.Requester.Subject, approver.Subject, StringComparison.Ordinal))
            {
                return GrantResult.OwnRequest;
            }
            if (!IsApprover(approver))
            {
                return GrantResult.NotAllowed;
            }
            if (current.Status != GrantStatus.Pending)
            {
                return GrantResult.Finished;
            }
        }
        var now = _time.GetUtcNow();
        var next = approve
            ? current with { Status = GrantStatus.Active, DecidedBy = approver.Subject, DecidedAt = now, ExpiresAt = now + current.Duration }
            : current with { Status = GrantStatus.Denied, DecidedBy = approver.Subject, DecidedAt = now, EndedAt = now, Note = note };
        var result = Commit(current, next, out grant);
        if (result == GrantResult.Done)
        {
            Log.Decided(_logger, approver.Subject, approve ? "approved" : "denied", id, current.Requester.Subject, current.Target);
        }
        return result;
    }

    /// <summary>The timer of an active grant: it has run out.</summary>
    private void Expire(string id)
    {
        Grant current;
        lock (_gate)
        {
            if (_stopped || !_grants.TryGetValue(id, out var entry) || entry.Grant.Status != GrantStatus.Active)
            {
                return;
            }
            current = entry.Grant;
        }
        if (Commit(current, current with { Status = GrantStatus.Expired, EndedAt = _time.GetUtcNow() }, out _) == GrantResult.Unavailable)
        {
            // The store is out of reach, but time is not: the grant ends here all the same (fail closed).
            ApplyChange(current with { Status = GrantStatus.Expired, EndedAt = _time.GetUtcNow() }, madeHere: true);
        }
        Log.Expired(_logger, id, current.Requester.Subject, current.Target);
    }

    /// <summary>
    /// Takes a grant from <paramref name="current"/> to <paramref name="next"/>: stored (compare-and-set when shared: another
    /// instance may have moved it first, and then its change wins and the call reports <see cref="GrantResult.Finished"/>),
    /// applied, and recorded where its recording is kept (a refused record refuses an approval, never an end).
    /// </summary>
    private GrantResult Commit(Grant current, Grant next, out Grant? grant)
    {
        lock (_gate)
        {
            if (!_grants.TryGetValue(current.Id, out var entry) || entry.Grant.Status != current.Status)
            {
                grant = entry?.Grant;
                return entry is null ? GrantResult.NotFound : GrantResult.Finished;
            }
            // In this process alone, a change is recorded before it is made, so an approval that cannot be recorded is not
            // made. In the shared state it is recorded as it is applied (where its recording is kept, which may be another
            // instance), and an approval that cannot be recorded is revoked there.
            if (_store is null && !Record(entry, next) && next.Status == GrantStatus.Active)
            {
                grant = current;
                return GrantResult.RecorderFailed;
            }
        }
        if (_store is { } store)
        {
            (bool Replaced, Grant? Stored) outcome;
            try
            {
                outcome = store.Replace(next, current.Status);
            }
            catch (Exception e) when (IGrantStore.IsUnavailable(e))
            {
                Log.StoreFailed(_logger, current.Id, e.Message);
                grant = current;
                return GrantResult.Unavailable;
            }
            if (!outcome.Replaced)
            {
                // Another instance changed it first: its change is the grant's (and reaches this registry as news too).
                if (outcome.Stored is { } stored)
                {
                    ApplyChange(stored, madeHere: false);
                }
                grant = outcome.Stored;
                return outcome.Stored is null ? GrantResult.NotFound : GrantResult.Finished;
            }
        }
        ApplyChange(next, madeHere: true);
        grant = Find(next.Id) ?? next;
        // Moved on at once: revoked because the approval could not be recorded here, or by a change that came in between.
        return grant.Status == next.Status ? GrantResult.Done
            : grant.Note == UnrecordedApproval ? GrantResult.RecorderFailed
            : GrantResult.Finished;
    }

    /// <summary>
    /// Makes <paramref name="next"/> the grant's state when it moves the grant forward: arms the expiry of an active grant,
    /// ends the sessions of an ended one, records the change where the grant's recording is kept (once, whichever way it
    /// arrives first), and tells listeners. <paramref name="madeHere"/>: this instance made the change (it is counted here).
    /// </summary>
    private void ApplyChange(Grant next, bool madeHere)
    {
        Entry? entry;
        bool announce = false, unrecordedApproval = false;
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }
            if (!_grants.TryGetValue(next.Id, out entry))
            {
                // News of a grant asked for through another instance (or loaded at start).
                entry = new Entry(next with { Status = GrantStatus.Pending }, recording: null);
                _grants.Add(next.Id, entry);
                if (next.Status == GrantStatus.Pending)
                {
                    entry.Grant = next;
                    announce = true;
                }
            }
            else if (Rank(next.Status) <= Rank(entry.Grant.Status))
            {
                return; // old or repeated news
            }
        }
        if (announce)
        {
            Changed?.Invoke(next);
            return;
        }
        lock (_gate)
        {
            if (_stopped || Rank(next.Status) <= Rank(entry.Grant.Status))
            {
                return;
            }
            if (!Record(entry, next) && next.Status == GrantStatus.Active)
            {
                unrecordedApproval = true;
            }
            entry.Grant = next;
            if (next.Status == GrantStatus.Active)
            {
                var left = next.ExpiresAt!.Value - _time.GetUtcNow();
                entry.Timer = _time.CreateTimer(static state =>
                {
                    var (registry, grantId) = ((GrantRegistry, string))state!;
                    registry.Expire(grantId);
                }, (this, next.Id), left > TimeSpan.Zero ? left : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
            }
            else
            {
                EndLocked(entry, next);
            }
        }
        if (madeHere)
        {
            // Counted where the change was made, not again by every instance that hears of it.
            WireDiagnostics.Grants.Add(1, new KeyValuePair<string, object?>("wire.outcome", Outcome(next.Status)));
        }
        if (next.Status == GrantStatus.Active)
        {
            Changed?.Invoke(next);
        }
        else
        {
            var recording = entry.Recording;
            entry.Recording = null;
            _ = RecordingSessions.CompleteAsync(recording, next.Status switch
            {
                GrantStatus.Denied => "grant denied by " + next.DecidedBy,
                GrantStatus.Revoked => "grant revoked by " + next.Note,
                _ => "grant expired",
            });
            Changed?.Invoke(next);
        }
        if (unrecordedApproval && _recorder!.OnFailure == RecordingFailureMode.Deny)
        {
            // Approved through another instance, but not recordable here where its recording is kept: ended at once.
            Log.RecorderFailed(_logger, next.Requester.Subject, next.Target);
            Commit(next, next with { Status = GrantStatus.Revoked, EndedAt = _time.GetUtcNow(), Note = UnrecordedApproval }, out _);
        }
    }

    /// <summary>Who revoked an approval that could not be recorded where the grant's recording is kept.</summary>
    private const string UnrecordedApproval = "wire (the approval could not be recorded)";

    private static int Rank(GrantStatus status) => status switch
    {
        GrantStatus.Pending => 0,
        GrantStatus.Active => 1,
        _ => 2,
    };

    private static string Outcome(GrantStatus status) => status switch
    {
        GrantStatus.Active => "approved",
        GrantStatus.Denied => "denied",
        GrantStatus.Revoked => "revoked",
        _ => "expired",
    };

    /// <summary>The record of the change that brought a grant to <paramref name="grant"/>'s state.</summary>
    private static GrantEvent EventFor(Grant grant) => grant.Status switch
    {
        GrantStatus.Active => new GrantEvent(GrantEvent.Approved, grant.Id) { By = grant.DecidedBy, Expires = grant.ExpiresAt },
        GrantStatus.Denied => new GrantEvent(GrantEvent.Denied, grant.Id) { By = grant.DecidedBy, Reason = grant.Note },
        GrantStatus.Revoked => new GrantEvent(GrantEvent.Revoked, grant.Id) { By = grant.Note },
        _ => new GrantEvent(GrantEvent.Expired, grant.Id),
    };

    /// <summary>
    /// Ends the sessions an ended grant admitted: each moves to another valid grant of the same subject and target when
    /// there is one, else it is terminated. Under the lock, so that <see cref="Admit"/> never binds a session to a grant
    /// that is ending.
    /// </summary>
    private void EndLocked(Entry entry, Grant grant)
    {
        entry.Timer?.Dispose();
        entry.Timer = null;
        RememberEndedLocked(grant.Id);
        if (grant.Status == GrantStatus.Denied)
        {
            return; // never admitted anyone
        }
        string sessionReason = grant.Status == GrantStatus.Expired
            ? $"ended because grant {grant.Id} for target \"{grant.Target}\" expired"
            : $"ended because grant {grant.Id} for target \"{grant.Target}\" was revoked by {grant.Note}";
        var successor = FindValidLocked(grant.Requester.Subject, grant.Target, _time.GetUtcNow(), except: grant.Id);
        int ended = 0;
        foreach (var session in Sessions.Active)
        {
            if (!string.Equals(session.Grant, grant.Id, StringComparison.Ordinal))
            {
                continue;
            }
            if (successor is not null)
            {
                session.Grant = successor.Id;
            }
            else if (SessionRegistry.TryTerminate(session, sessionReason))
            {
                ended++;
            }
        }
        if (ended > 0)
        {
            Log.SessionsEnded(_logger, grant.Id, ended);
        }
    }

    private Grant? FindValidLocked(string subject, string target, DateTimeOffset now, string? except)
    {
        Grant? best = null;
        foreach (var entry in _grants.Values)
        {
            var grant = entry.Grant;
            if (grant.IsValidAt(now) && !string.Equals(grant.Id, except, StringComparison.Ordinal)
                && string.Equals(grant.Requester.Subject, subject, StringComparison.Ordinal)
                && string.Equals(grant.Target, target, StringComparison.Ordinal)
                && (best is null || grant.ExpiresAt > best.ExpiresAt))
            {
                best = grant;
            }
        }
        return best;
    }

    private void RememberEndedLocked(string id)
    {
        _ended.Enqueue(id);
        while (_ended.Count > Options.KeepEnded && _ended.TryDequeue(out var old))
        {
            _grants.Remove(old);
        }
    }

    /// <summary>
    /// Records the change that brought the grant to <paramref name="next"/>'s state, unless it was recorded already (a
    /// change made here is recorded before it is stored, and then heard of again from the store); false when it could not
    /// be and <c>recording.onFailure</c> is <c>deny</c>.
    /// </summary>
    private bool Record(Entry entry, Grant next)
    {
        if (entry.Recording is null || Rank(next.Status) <= Rank(entry.Recorded))
        {
            return true;
        }
        if (entry.Recording.TryRecord(EventFor(next)))
        {
            entry.Recorded = next.Status;
            return true;
        }
        Log.RecorderFailed(_logger, entry.Grant.Requester.Subject, entry.Grant.Target);
        return _recorder!.OnFailure == RecordingFailureMode.Allow;
    }

    private sealed class Entry(Grant grant, ISessionRecorder? recording)
    {
        public Grant Grant { get; set; } = grant;

        public ISessionRecorder? Recording { get; set; } = recording;

        public ITimer? Timer { get; set; }

        /// <summary>The last state whose change is in the recording (its request: pending).</summary>
        public GrantStatus Recorded { get; set; } = GrantStatus.Pending;
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "grant {Id}: {Subject} asks for target {Target} for {Duration}: {Reason}")]
        public static partial void Requested(ILogger logger, string subject, string id, string target, TimeSpan duration, string reason);

        [LoggerMessage(Level = LogLevel.Information, Message = "grant: {Approver} {Outcome} grant {Id} ({Subject} on target {Target})")]
        public static partial void Decided(ILogger logger, string approver, string outcome, string id, string subject, string target);

        [LoggerMessage(Level = LogLevel.Information, Message = "grant {Id} revoked by {Caller}")]
        public static partial void Revoked(ILogger logger, string caller, string id);

        [LoggerMessage(Level = LogLevel.Information, Message = "grant {Id} of {Subject} for target {Target} expired")]
        public static partial void Expired(ILogger logger, string id, string subject, string target);

        [LoggerMessage(Level = LogLevel.Warning, Message = "grant {Id} ended: {Count} sessions it admitted were ended")]
        public static partial void SessionsEnded(ILogger logger, string id, int count);

        [LoggerMessage(Level = LogLevel.Error, Message = "grant of {Subject} for target {Target}: the recording failed; the change was refused (recording.onFailure is deny)")]
        public static partial void RecorderFailed(ILogger logger, string subject, string target);

        [LoggerMessage(Level = LogLevel.Error, Message = "grant {Id}: the shared state is unavailable ({Reason}); nothing changed")]
        public static partial void StoreFailed(ILogger logger, string id, string reason);
    }
}
