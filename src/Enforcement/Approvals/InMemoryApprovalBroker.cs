using System.Collections.Concurrent;
using Wire.Enforcement.Identity;

namespace Wire.Enforcement.Approvals;

/// <summary>
/// The default broker for one process: pending requests live in memory and are decided through
/// <see cref="Approve"/> and <see cref="Deny"/> (called by the gateway's approval page and admin API, or by a host).
/// </summary>
public sealed class InMemoryApprovalBroker : IApprovalQueue
{
    private readonly ConcurrentDictionary<string, Pending> _pending = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    /// <summary>Creates a broker; timeouts run on <paramref name="timeProvider"/> (default: the system clock).</summary>
    public InMemoryApprovalBroker(TimeProvider? timeProvider = null) => _time = timeProvider ?? TimeProvider.System;

    /// <summary>Raised, on the requesting session's thread, when a request starts waiting.</summary>
    public event Action<ApprovalRequest>? Requested;

    /// <summary>The requests waiting for a decision, oldest first.</summary>
    public IReadOnlyList<ApprovalRequest> PendingRequests =>
        [.. _pending.Values.Select(p => p.Request).OrderBy(r => r.RequestedAt)];

    /// <inheritdoc />
    public async ValueTask<ApprovalDecision> RequestAsync(ApprovalRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var pending = new Pending(request);
        if (!_pending.TryAdd(request.Id, pending))
        {
            throw new InvalidOperationException($"an approval request with id '{request.Id}' is already pending");
        }

        try
        {
            Requested?.Invoke(request);
            using var timeout = new CancellationTokenSource(request.Timeout, _time);
            using var timeoutRegistration = timeout.Token.UnsafeRegister(
                static state => ((Pending)state!).TrySet(new ApprovalDecision(ApprovalOutcome.TimedOut)), pending);
            using var cancelRegistration = cancellationToken.UnsafeRegister(
                static state => ((Pending)state!).TrySet(new ApprovalDecision(ApprovalOutcome.Cancelled)), pending);
            return await pending.Decision.ConfigureAwait(false);
        }
        finally
        {
            _pending.TryRemove(request.Id, out _);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<ApprovalRequest>> ListPendingAsync(CancellationToken cancellationToken) => new(PendingRequests);

    /// <inheritdoc />
    public ValueTask<ApprovalResult> DecideAsync(string id, WireIdentity approver, bool approve, string? reason, CancellationToken cancellationToken) =>
        new(Decide(id, approver, approve ? ApprovalOutcome.Approved : ApprovalOutcome.Denied, reason));

    /// <inheritdoc />
    public int CancelAll(string reason)
    {
        int cancelled = 0;
        foreach (var pending in _pending.Values)
        {
            cancelled += pending.TrySet(new ApprovalDecision(ApprovalOutcome.Cancelled, null, reason)) ? 1 : 0;
        }
        return cancelled;
    }

    /// <summary>Approves request <paramref name="id"/> on behalf of <paramref name="approver"/>.</summary>
    public ApprovalResult Approve(string id, WireIdentity approver) => Decide(id, approver, ApprovalOutcome.Approved, null);

    /// <summary>Denies request <paramref name="id"/> on behalf of <paramref name="approver"/>.</summary>
    public ApprovalResult Deny(string id, WireIdentity approver, string? reason = null) => Decide(id, approver, ApprovalOutcome.Denied, reason);

    private ApprovalResult Decide(string id, WireIdentity approver, ApprovalOutcome outcome, string? reason)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(approver);
        if (!_pending.TryGetValue(id, out var pending))
        {
            return ApprovalResult.NotFound;
        }
        if (string.Equals(pending.Request.Identity.Subject, approver.Subject, StringComparison.Ordinal))
        {
            return ApprovalResult.OwnRequest;
        }
        if (!pending.Request.Approvers.Any(approver.IsInGroup))
        {
            return ApprovalResult.NotAnApprover;
        }
        return pending.TrySet(new ApprovalDecision(outcome, approver.Subject, reason)) ? ApprovalResult.Decided : ApprovalResult.NotFound;
    }

    private sealed class Pending(ApprovalRequest request)
    {
        private readonly TaskCompletionSource<ApprovalDecision> _decision = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ApprovalRequest Request { get; } = request;

        public Task<ApprovalDecision> Decision => _decision.Task;

        public bool TrySet(ApprovalDecision decision) => _decision.TrySetResult(decision);
    }
}
