using Wire.Enforcement.Approvals;

namespace Wire.Hosting.Composition;

/// <summary>
/// Several approval brokers as one: every review goes to all of them, the first approval or denial decides and the
/// others' requests are cancelled. Without a decision the first broker's outcome stands (timed out, cancelled). A broker
/// that throws fails the review (fail closed).
/// </summary>
internal sealed class FirstDecisionApprovalBroker(IReadOnlyList<IApprovalBroker> brokers) : IApprovalBroker
{
    public async ValueTask<ApprovalDecision> RequestAsync(ApprovalRequest request, CancellationToken cancellationToken)
    {
        using var others = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pending = new List<Task<ApprovalDecision>>(brokers.Count);
        foreach (var broker in brokers)
        {
            pending.Add(broker.RequestAsync(request, others.Token).AsTask());
        }
        var all = pending.ToArray();
        try
        {
            while (pending.Count > 0)
            {
                var done = await Task.WhenAny(pending).ConfigureAwait(false);
                pending.Remove(done);
                var decision = await done.ConfigureAwait(false);
                if (decision.Outcome is ApprovalOutcome.Approved or ApprovalOutcome.Denied)
                {
                    return decision;
                }
            }
            return await all[0].ConfigureAwait(false);
        }
        finally
        {
            await others.CancelAsync().ConfigureAwait(false);
            // The losers see the cancellation and end. Their faults are observed here: one that came before the decision
            // was already thrown by the await above (the review fails); one after it changes nothing.
            try
            {
                await Task.WhenAll(all).ConfigureAwait(false);
            }
            catch (Exception)
            {
            }
        }
    }
}
