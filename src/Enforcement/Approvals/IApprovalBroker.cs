namespace Wire.Enforcement.Approvals;

/// <summary>
/// Puts commands in front of human approvers. A session awaits <see cref="RequestAsync"/> for the one execution it
/// holds; nothing else waits. If the broker throws, the command does not run (fail closed).
/// </summary>
public interface IApprovalBroker
{
    /// <summary>
    /// Publishes <paramref name="request"/> and completes when it is approved or denied, when
    /// <see cref="ApprovalRequest.Timeout"/> passes (<see cref="ApprovalOutcome.TimedOut"/>), or when
    /// <paramref name="cancellationToken"/> fires (<see cref="ApprovalOutcome.Cancelled"/>, not an exception).
    /// </summary>
    ValueTask<ApprovalDecision> RequestAsync(ApprovalRequest request, CancellationToken cancellationToken);
}
