using Microsoft.Extensions.Logging;
using Wire.Enforcement.Approvals;

namespace Wire.Sample.Host;

/// <summary>
/// A host's own approval broker: where a real one would post the review to a chat channel and wait for a button, this one
/// approves reviews whose rule is named "auto-approved" and leaves every other review to the built-in broker.
/// </summary>
public sealed class SlackLikeApprovalBroker(ILogger<SlackLikeApprovalBroker> logger) : IApprovalBroker
{
    /// <inheritdoc />
    public async ValueTask<ApprovalDecision> RequestAsync(ApprovalRequest request, CancellationToken cancellationToken)
    {
        logger.LogInformation("Review {Id}: {Subject} on {Target}, rule {Rule}", request.Id, request.Identity.Subject, request.Target,
            request.Rule);
        if (request.Rule == "auto-approved")
        {
            return new ApprovalDecision(ApprovalOutcome.Approved, "sample-bot");
        }
        // No decision from this broker: wait until the review ends elsewhere (cancelled) or times out.
        try
        {
            await Task.Delay(request.Timeout, cancellationToken).ConfigureAwait(false);
            return new ApprovalDecision(ApprovalOutcome.TimedOut);
        }
        catch (OperationCanceledException)
        {
            return new ApprovalDecision(ApprovalOutcome.Cancelled);
        }
    }
}
