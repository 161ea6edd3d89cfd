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
/// same target takes them over. Every grant has its own recording (request, decision, end). Grants live in memory: a
/// restart ends them all (fail closed). Thread-safe.
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
        lock (_gate)
        {
            if (_stopped)
            {
                _ = RecordingSessions.CompleteAsync(recording, "gateway stopped");
                throw new InvalidOperationException("the grant registry is stopped");
            }
            _grants.Add(id, new Entry(created, recording));
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
        Entry? entry;
        lock (_gate)
        {
            if (!_grants.TryGetValue(id, out entry))
            {
                grant = null;
                return GrantResult.NotFound;
            }
            grant = entry.Grant;
            if (!string.Equals(grant.Requester.Subject, caller.Subject, StringComparison.Ordinal) && !IsApprover(caller))
            {
                return GrantResult.NotAllowed;
            }
            if (grant.Status is not (GrantStatus.Pending or GrantStatus.Active))
            {
                return GrantResult.Finished;
            }
            // Ending access is never refused for want of a record (that would keep it open).
            Record(entry, new GrantEvent(GrantEvent.Revoked, id) { By = caller.Subject });
            grant = EndLocked(entry, GrantStatus.Revoked, caller.Subject,
                $"ended because grant {id} for target \"{grant.Target}\" was revoked by {caller.Subject}");
        }
        Log.Revoked(_logger, caller.Subject, id);
        WireDiagnostics.Grants.Add(1, new KeyValuePair<string, object?>("wire.outcome", "revoked"));
        Finish(entry, grant, "grant revoked by " + caller.Subject);
        return GrantResult.Done;
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
    /// Stops the registry (the gateway is stopping): pending and active grants end with it, since they live in memory,
    /// and their recordings are completed.
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
        foreach (var entry in open)
        {
            await RecordingSessions.CompleteAsync(entry.Recording, "gateway stopped: grants are not kept across restarts").ConfigureAwait(false);
        }
    }

    private GrantResult Decide(string id, WireIdentity approver, bool approve, string? note, out Grant? grant)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(approver);
        Entry? entry;
        bool finished = false;
        lock (_gate)
        {
            if (!_grants.TryGetValue(id, out entry))
            {
                grant = null;
                return GrantResult.NotFound;
            }
            grant = entry.Grant;
            if (string.Equals(grant.Requester.Subject, approver.Subject, StringComparison.Ordinal))
            {
                return GrantResult.OwnRequest;
            }
            if (!IsApprover(approver))
            {
                return GrantResult.NotAllowed;
            }
            if (grant.Status != GrantStatus.Pending)
            {
                return GrantResult.Finished;
            }
            var now = _time.GetUtcNow();
            if (approve)
            {
                var expires = now + grant.Duration;
                if (!Record(entry, new GrantEvent(GrantEvent.Approved, id) { By = approver.Subject, Expires = expires }))
                {
                    return GrantResult.RecorderFailed;
                }
                grant = grant with { Status = GrantStatus.Active, DecidedBy = approver.Subject, DecidedAt = now, ExpiresAt = expires };
                entry.Grant = grant;
                entry.Timer = _time.CreateTimer(static state =>
                {
                    var (registry, grantId) = ((GrantRegistry, string))state!;
                    registry.Expire(grantId);
                }, (this, id), grant.Duration, Timeout.InfiniteTimeSpan);
            }
            else
            {
                // A denial is never refused for want of a record (that would leave the request open).
                Record(entry, new GrantEvent(GrantEvent.Denied, id) { By = approver.Subject, Reason = note });
                grant = grant with { Status = GrantStatus.Denied, DecidedBy = approver.Subject, DecidedAt = now, EndedAt = now, Note = note };
                entry.Grant = grant;
                RememberEndedLocked(id);
                finished = true;
            }
        }
        Log.Decided(_logger, approver.Subject, approve ? "approved" : "denied", id, grant.Requester.Subject, grant.Target);
        WireDiagnostics.Grants.Add(1, new KeyValuePair<string, object?>("wire.outcome", approve ? "approved" : "denied"));
        if (finished)
        {
            Finish(entry, grant, "grant denied by " + approver.Subject);
        }
        else
        {
            Changed?.Invoke(grant);
        }
        return GrantResult.Done;
    }

    /// <summary>The timer of an active grant: it has run out.</summary>
    private void Expire(string id)
    {
        Entry? entry;
        Grant grant;
        lock (_gate)
        {
            if (_stopped || !_grants.TryGetValue(id, out entry) || entry.Grant.Status != GrantStatus.Active)
            {
                return;
            }
            Record(entry, new GrantEvent(GrantEvent.Expired, id));
            grant = EndLocked(entry, GrantStatus.Expired, null, $"ended because grant {id} for target \"{entry.Grant.Target}\" expired");
        }
        Log.Expired(_logger, id, grant.Requester.Subject, grant.Target);
        WireDiagnostics.Grants.Add(1, new KeyValuePair<string, object?>("wire.outcome", "expired"));
        Finish(entry, grant, "grant expired");
    }

    /// <summary>
    /// Marks the grant ended and ends the sessions it admitted: each moves to another valid grant of the same subject
    /// and target when there is one, else it is terminated with <paramref name="sessionReason"/>. Under the lock, so that
    /// <see cref="Admit"/> never binds a session to a grant that is ending.
    /// </summary>
    private Grant EndLocked(Entry entry, GrantStatus status, string? by, string sessionReason)
    {
        var now = _time.GetUtcNow();
        var grant = entry.Grant with { Status = status, EndedAt = now, Note = by ?? entry.Grant.Note };
        entry.Grant = grant;
        entry.Timer?.Dispose();
        entry.Timer = null;
        RememberEndedLocked(grant.Id);
        var successor = FindValidLocked(grant.Requester.Subject, grant.Target, now, except: grant.Id);
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
        return grant;
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

    /// <summary>Records an event of the grant; false when it could not be and <c>recording.onFailure</c> is <c>deny</c>.</summary>
    private bool Record(Entry entry, GrantEvent grantEvent)
    {
        if (entry.Recording is null || entry.Recording.TryRecord(grantEvent))
        {
            return true;
        }
        Log.RecorderFailed(_logger, entry.Grant.Requester.Subject, entry.Grant.Target);
        return _recorder!.OnFailure == RecordingFailureMode.Allow;
    }

    /// <summary>After a grant's last event: completes its recording and tells listeners.</summary>
    private void Finish(Entry entry, Grant grant, string reason)
    {
        var recording = entry.Recording;
        entry.Recording = null;
        _ = RecordingSessions.CompleteAsync(recording, reason);
        Changed?.Invoke(grant);
    }

    private sealed class Entry(Grant grant, ISessionRecorder? recording)
    {
        public Grant Grant { get; set; } = grant;

        public ISessionRecorder? Recording { get; set; } = recording;

        public ITimer? Timer { get; set; }
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
    }
}
