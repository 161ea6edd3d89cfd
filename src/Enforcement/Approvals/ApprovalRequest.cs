using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;

namespace Wire.Enforcement.Approvals;

/// <summary>One execution held for review: everything an approver needs to decide, with values already masked.</summary>
public sealed class ApprovalRequest
{
    /// <summary>Unique id of the request (the approval page and admin API address it by this).</summary>
    public required string Id { get; init; }

    /// <summary>Who asked.</summary>
    public required WireIdentity Identity { get; init; }

    /// <summary>The protocol the command came over.</summary>
    public required WireProtocol Protocol { get; init; }

    /// <summary>The target the command would run against.</summary>
    public required string Target { get; init; }

    /// <summary>The session the command belongs to.</summary>
    public required string SessionId { get; init; }

    /// <summary>The full command text (a SQL statement, an SSH command line, an HTTP request line).</summary>
    public required string Text { get; init; }

    /// <summary>Bound parameters, masked; null when the command has none.</summary>
    public IReadOnlyList<string?>? Parameters { get; init; }

    /// <summary>What the command does.</summary>
    public StatementKindSet Kinds { get; init; }

    /// <summary>The review rule (or rules, comma-separated) that asked for the review.</summary>
    public required string Rule { get; init; }

    /// <summary>Groups whose members may approve.</summary>
    public required IReadOnlyList<string> Approvers { get; init; }

    /// <summary>How long the request waits before it times out.</summary>
    public required TimeSpan Timeout { get; init; }

    /// <summary>When the request was made.</summary>
    public DateTimeOffset RequestedAt { get; init; }
}
