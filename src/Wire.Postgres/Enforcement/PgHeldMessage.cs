using Wire.Enforcement.Approvals;

namespace Wire.Postgres.Enforcement;

/// <summary>A client message held for review, and what to expect from the server once it is let through.</summary>
internal sealed class PgHeldMessage(ApprovalRequest request, PgPending whenAllowed, byte replacementType)
{
    public ApprovalRequest Request { get; } = request;

    public PgPending WhenAllowed { get; } = whenAllowed;

    /// <summary>The message type that replaces it when it is not approved: Query, Execute or FunctionCall.</summary>
    public byte ReplacementType { get; } = replacementType;
}
