namespace Wire.Enforcement.Approvals;

/// <summary>How a review ended.</summary>
public enum ApprovalOutcome : byte
{
    /// <summary>An approver let the command run (this one execution only).</summary>
    Approved,

    /// <summary>An approver refused it.</summary>
    Denied,

    /// <summary>Nobody decided within the rule's timeout.</summary>
    TimedOut,

    /// <summary>The client cancelled the command, or the session ended, while it waited.</summary>
    Cancelled,
}
