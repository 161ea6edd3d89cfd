using Wire.Enforcement.Identity;

namespace Wire.Enforcement.Grants;

/// <summary>
/// A just-in-time grant (issue 9): one identity may reach one target for a bounded time once an approver agreed. An
/// immutable snapshot; <see cref="GrantRegistry"/> replaces it as the grant moves from <see cref="GrantStatus.Pending"/>
/// to its end.
/// </summary>
/// <param name="Id">The grant's unique id (<c>grant-</c> and 16 hex digits); URL-safe.</param>
/// <param name="Requester">Who asked; the only identity the grant admits.</param>
/// <param name="Target">The target's name; the grant covers that name in every protocol.</param>
/// <param name="Duration">How long the grant lasts once approved.</param>
/// <param name="Reason">Why the requester asked, for the approvers and the recording.</param>
/// <param name="RequestedAt">When it was asked for.</param>
public sealed record Grant(string Id, WireIdentity Requester, string Target, TimeSpan Duration, string Reason, DateTimeOffset RequestedAt)
{
    /// <summary>Where the grant is in its life.</summary>
    public GrantStatus Status { get; init; }

    /// <summary>Who approved or denied it; null while it is pending.</summary>
    public string? DecidedBy { get; init; }

    /// <summary>When it was approved or denied.</summary>
    public DateTimeOffset? DecidedAt { get; init; }

    /// <summary>When an approved grant ends (approval time plus <see cref="Duration"/>).</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>When it ended (expired, revoked, or withdrawn); null while it is pending or active.</summary>
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>Who revoked it, or the deny reason; null otherwise.</summary>
    public string? Note { get; init; }

    /// <summary>The id of the grant's own recording (its request, decision and end); null when nothing is recorded.</summary>
    public string? Recording { get; init; }

    /// <summary>Whether the grant admits its requester to its target at <paramref name="now"/>.</summary>
    /// <param name="now">The current time.</param>
    public bool IsValidAt(DateTimeOffset now) => Status == GrantStatus.Active && ExpiresAt > now;
}

/// <summary>Where a <see cref="Grant"/> is in its life.</summary>
public enum GrantStatus : byte
{
    /// <summary>Asked for; waiting for an approver.</summary>
    Pending,

    /// <summary>Approved and not yet expired: its requester may reach its target.</summary>
    Active,

    /// <summary>An approver said no.</summary>
    Denied,

    /// <summary>Its time ran out; its sessions were ended.</summary>
    Expired,

    /// <summary>Ended early by its requester or an approver (withdrawn while pending, or revoked while active).</summary>
    Revoked,
}

/// <summary>How the admin API and the shared state write a <see cref="GrantStatus"/>: <c>pending</c>, <c>active</c>, ...</summary>
internal static class GrantStatusNames
{
    public static string Name(GrantStatus status) => status switch
    {
        GrantStatus.Pending => "pending",
        GrantStatus.Active => "active",
        GrantStatus.Denied => "denied",
        GrantStatus.Expired => "expired",
        _ => "revoked",
    };

    public static GrantStatus Parse(string name) => name switch
    {
        "pending" => GrantStatus.Pending,
        "active" => GrantStatus.Active,
        "denied" => GrantStatus.Denied,
        "expired" => GrantStatus.Expired,
        _ => GrantStatus.Revoked, // a status this version does not know admits nobody
    };
}

/// <summary>What happened to a call that decides or ends a <see cref="Grant"/>.</summary>
public enum GrantResult : byte
{
    /// <summary>Done.</summary>
    Done,

    /// <summary>No grant has that id.</summary>
    NotFound,

    /// <summary>The caller is not in one of the approver groups (or, for a revoke, neither the requester nor an approver).</summary>
    NotAllowed,

    /// <summary>Nobody approves their own request.</summary>
    OwnRequest,

    /// <summary>The grant is no longer in a state the call applies to (already decided, expired or revoked).</summary>
    Finished,

    /// <summary>The decision could not be recorded and <c>recording.onFailure</c> is <c>deny</c>: nothing changed.</summary>
    RecorderFailed,

    /// <summary>The shared state of the gateway instances could not be reached: nothing changed.</summary>
    Unavailable,
}
