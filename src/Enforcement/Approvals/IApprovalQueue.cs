using Wire.Enforcement.Identity;

namespace Wire.Enforcement.Approvals;

/// <summary>
/// An approval broker whose pending requests people list and decide (the gateway's approval page and admin API): in
/// memory for one process (<see cref="InMemoryApprovalBroker"/>), or shared by several gateway instances.
/// </summary>
public interface IApprovalQueue : IApprovalBroker
{
    /// <summary>The requests waiting for a decision, oldest first.</summary>
    /// <param name="cancellationToken">Stops the lookup.</param>
    ValueTask<IReadOnlyList<ApprovalRequest>> ListPendingAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Approves or denies request <paramref name="id"/> on behalf of <paramref name="approver"/>, who must be in one of its
    /// approver groups and must not have asked for it; the waiting command is released wherever it waits.
    /// </summary>
    /// <param name="id">The request's id.</param>
    /// <param name="approver">Who decides.</param>
    /// <param name="approve">True to approve, false to deny.</param>
    /// <param name="reason">Why, for a denial; null for none.</param>
    /// <param name="cancellationToken">Stops the call; the decision may or may not have been taken.</param>
    ValueTask<ApprovalResult> DecideAsync(string id, WireIdentity approver, bool approve, string? reason, CancellationToken cancellationToken);

    /// <summary>
    /// Ends every request waiting in this process as <see cref="ApprovalOutcome.Cancelled"/> (it is stopping): never
    /// approved, and each waiting client gets its protocol's "review cancelled" error. The number cancelled.
    /// </summary>
    /// <param name="reason">Why, for the decisions (and the recordings).</param>
    int CancelAll(string reason);
}
