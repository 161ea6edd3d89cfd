using System.Diagnostics;
using Wire.Enforcement.Diagnostics;
using Wire.Enforcement.Policy;

namespace Wire.Enforcement.Approvals;

/// <summary>How sessions wait for a review: through the broker, measured (<c>wire.approval.wait</c>) whatever the broker is.</summary>
internal static class ApprovalWaits
{
    /// <summary>
    /// <see cref="IApprovalBroker.RequestAsync"/>, with the wait and its outcome recorded on the <c>Wire</c> meter. A
    /// broker that throws is counted as <c>failed</c> and the exception passes on (the caller fails closed).
    /// </summary>
    /// <param name="broker">The broker.</param>
    /// <param name="request">The request to decide.</param>
    /// <param name="cancellationToken">Cancels the wait (the outcome is then <see cref="ApprovalOutcome.Cancelled"/>).</param>
    public static async ValueTask<ApprovalDecision> WaitForDecisionAsync(this IApprovalBroker broker, ApprovalRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(broker);
        ArgumentNullException.ThrowIfNull(request);
        long started = Stopwatch.GetTimestamp();
        string outcome = "failed";
        try
        {
            var decision = await broker.RequestAsync(request, cancellationToken).ConfigureAwait(false);
            outcome = decision.Outcome switch
            {
                ApprovalOutcome.Approved => "approved",
                ApprovalOutcome.Denied => "denied",
                ApprovalOutcome.TimedOut => "timed_out",
                _ => "cancelled",
            };
            return decision;
        }
        finally
        {
            WireDiagnostics.ApprovalWait.Record(Stopwatch.GetElapsedTime(started).TotalSeconds,
                new KeyValuePair<string, object?>("network.protocol.name", WireProtocolNames.TelemetryName(request.Protocol)),
                new KeyValuePair<string, object?>("wire.outcome", outcome));
        }
    }
}
