namespace Wire.Enforcement.Approvals;

/// <summary>What happened to an approve or deny call.</summary>
public enum ApprovalResult : byte
{
    /// <summary>The decision was taken and the waiting command released.</summary>
    Decided,

    /// <summary>No pending request has that id (it was decided, timed out or cancelled already).</summary>
    NotFound,

    /// <summary>The caller is in none of the request's approver groups.</summary>
    NotAnApprover,

    /// <summary>The caller asked for the command: nobody approves their own request.</summary>
    OwnRequest,

    /// <summary>The request exists but was decided, timed out or cancelled already.</summary>
    NoLongerPending,
}
