using Microsoft.Extensions.Logging;
using Wire.Enforcement;
using Wire.Enforcement.Approvals;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Recording;
using Wire.Http.Enforcement;
using Wire.Http.Protocol;

namespace Wire.Http.Proxy;

internal sealed partial class HttpProxySession
{
    /// <summary>What was decided about one request, for the answer and the recording.</summary>
    /// <param name="Status">0 to forward; otherwise the status of Wire's own answer.</param>
    /// <param name="Detail">The message of Wire's own answer; null when forwarded.</param>
    /// <param name="Verdict">The policy's verdict, for the recording.</param>
    /// <param name="Rule">The rule that decided; null when the default action applied.</param>
    /// <param name="Approver">Who decided a review; null when nobody did.</param>
    /// <param name="Outcome">What happened, for example <c>allowed</c> or <c>denied</c>.</param>
    /// <param name="Kind">The request's kind, for the recording.</param>
    /// <param name="Text">The request's method and path, masked, for the recording.</param>
    /// <param name="Mask">What the response body must go through; null when no mask rule applies.</param>
    private readonly record struct Judgement(int Status, string? Detail, RecordedVerdict Verdict, string? Rule, string? Approver, string Outcome,
        string Kind, string Text, HttpMaskPlan? Mask = null)
    {
        public bool Refused => Status != 0;
    }

    /// <summary>
    /// Judges one request (DESIGN.md §4: one verdict per HTTP request): forward it, or answer 403 for a denial (by rule
    /// or by reviewer) or a review that timed out, 503 when the approval service failed (fail closed). Null when the
    /// server has no enforcement at all.
    /// </summary>
    private async ValueTask<Judgement?> JudgeAsync(Http1RequestHead head, HttpTargetOptions target, WireIdentity identity,
        (int Start, int Length) path, CancellationToken ct)
    {
        if (_server.Enforcement is not { } enforcement)
        {
            return null;
        }
        var policy = enforcement.Rules.Current.ForSession(WireProtocol.Http, target.Name, identity, enforcement.Grants);
        if (policy.AllowsEverything && enforcement.Recorder is null && policy.MaskRules.Count == 0)
        {
            return null;
        }

        string method = System.Text.Encoding.ASCII.GetString(_request.Span(_request.MethodText));
        string pathText = System.Text.Encoding.ASCII.GetString(_request.Span(path));
        string host = System.Text.Encoding.ASCII.GetString(HttpRouter.HostName(_request.First(HttpFieldKind.Host))).ToLowerInvariant();
        HttpAccess access;
        IReadOnlyList<string> commands = [];
        if (target.Kind == HttpTargetKind.Kubernetes && head.TargetForm != Http1TargetForm.Asterisk)
        {
            access = KubernetesRequestInfo.Describe(method, host, pathText, out commands);
        }
        else
        {
            int query = pathText.IndexOf('?', StringComparison.Ordinal);
            access = new HttpAccess(method, host, query < 0 ? pathText : pathText[..query]);
        }
        string text = KubernetesRequestInfo.CommandText(method, pathText, commands);
        string kind = access.Verb ?? method.ToLowerInvariant();
        var mask = MaskPlanFor(policy, target, identity, access, enforcement);
        var verdict = policy.Evaluate(AccessRequest.ForHttp(access, text));
        // Rules judge the request as sent; what is recorded and shown to approvers passes the detectors first (a query
        // string can carry the same values a response body can).
        if (mask?.Scanner is { } scanner)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(text);
            if (scanner.MaskInPlace(bytes) > 0)
            {
                text = System.Text.Encoding.UTF8.GetString(bytes);
            }
        }
        switch (verdict.Action)
        {
            case PolicyAction.Deny:
                Log.Denied(_logger, _id, identity.Subject, target.Name, verdict.Rule ?? "(default)");
                string detail = verdict.Rule is null
                    ? verdict.Message ?? "denied"
                    : $"denied by rule {verdict.Rule}" + (verdict.Message is { } message ? $": {message}" : "");
                return new Judgement(403, detail, RecordedVerdict.Deny, verdict.Rule, null, "denied", kind, text);

            case PolicyAction.Review:
                return await ReviewAsync(enforcement, verdict, target, identity, kind, text, ct).ConfigureAwait(false) with { Mask = mask };

            default:
                return new Judgement(0, null, RecordedVerdict.Allow, verdict.Rule, null, "allowed", kind, text, mask);
        }
    }

    // The plan of the last request: kept while rules, identity, target and Secret-ness stay the same.
    private HttpMaskPlan? _maskPlan;
    private (RuleSet? Rules, string? Subject, string? Target, bool Secrets) _maskPlanKey;

    private HttpMaskPlan? MaskPlanFor(SessionPolicy policy, HttpTargetOptions target, WireIdentity identity, HttpAccess access,
        WireEnforcement enforcement)
    {
        if (policy.MaskRules.Count == 0)
        {
            return null;
        }
        bool secrets = target.Kind == HttpTargetKind.Kubernetes && !access.NonResourceUrl && access.Resource == "secrets" && access.Subresource is null;
        var key = (policy.Source, identity.Subject, target.Name, secrets);
        if (_maskPlanKey != key)
        {
            _maskPlan = HttpMaskPlan.Create(policy.MaskRules, policy.Source.Masking, secrets, enforcement.MaskingKey.Span, target.CredentialValue);
            _maskPlanKey = key;
        }
        return _maskPlan;
    }

    private async ValueTask<Judgement> ReviewAsync(WireEnforcement enforcement, Verdict verdict, HttpTargetOptions target,
        WireIdentity identity, string kind, string text, CancellationToken ct)
    {
        var request = new ApprovalRequest
        {
            Id = Guid.NewGuid().ToString("n"),
            Identity = identity,
            Protocol = WireProtocol.Http,
            Target = target.Name,
            SessionId = "http-" + _id.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Text = text,
            Rule = verdict.Rule!,
            Approvers = verdict.Approvers,
            Timeout = verdict.Timeout,
            RequestedAt = enforcement.Time.GetUtcNow(),
        };
        Log.ReviewRequested(_logger, _id, identity.Subject, target.Name, verdict.Rule!);
        ApprovalDecision decision;
        try
        {
            decision = await enforcement.Approvals.WaitForDecisionAsync(request, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // Fail closed: a broken approval service never lets the request through.
            Log.ApprovalFailed(_logger, _id, e.Message);
            return new Judgement(503, "the approval service failed; the request was not forwarded", RecordedVerdict.Review, verdict.Rule, null,
                "failed", kind, text);
        }
        var rule = verdict.Rule;
        return decision.Outcome switch
        {
            ApprovalOutcome.Approved => new Judgement(0, null, RecordedVerdict.Review, rule, decision.Approver, "approved", kind, text),
            ApprovalOutcome.Denied => new Judgement(403, $"review by rule {rule} denied" + (decision.Approver is { } who ? $" by {who}" : ""),
                RecordedVerdict.Review, rule, decision.Approver, "denied", kind, text),
            ApprovalOutcome.TimedOut => new Judgement(403, $"review by rule {rule} timed out", RecordedVerdict.Review, rule, null, "timed-out", kind, text),
            _ => new Judgement(403, $"review by rule {rule} was cancelled", RecordedVerdict.Review, rule, null, "cancelled", kind, text),
        };
    }

    private static partial class Log
    {
        [LoggerMessage(3010, LogLevel.Information, "HTTP session {SessionId}: {Subject} -> {Target} denied by {Rule}")]
        public static partial void Denied(ILogger logger, long sessionId, string subject, string target, string rule);

        [LoggerMessage(3011, LogLevel.Information, "HTTP session {SessionId}: {Subject} -> {Target} waits for review by {Rule}")]
        public static partial void ReviewRequested(ILogger logger, long sessionId, string subject, string target, string rule);

        [LoggerMessage(3012, LogLevel.Error, "HTTP session {SessionId}: the approval service failed: {Reason}")]
        public static partial void ApprovalFailed(ILogger logger, long sessionId, string reason);
    }
}
