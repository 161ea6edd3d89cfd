namespace Wire.Enforcement.Approvals;

/// <summary>The decision on one <see cref="ApprovalRequest"/>.</summary>
/// <param name="Outcome">Approved, denied, timed out or cancelled.</param>
/// <param name="Approver">The subject who decided; null when nobody did.</param>
/// <param name="Reason">The approver's reason, if they gave one.</param>
public readonly record struct ApprovalDecision(ApprovalOutcome Outcome, string? Approver = null, string? Reason = null);
