using System.Text.Json;
using Wire.Enforcement.Recording;

namespace Wire.Enforcement.Grants;

/// <summary>
/// A step in a grant's life, in the grant's own recording (whose <c>session.start</c> has protocol <c>grant</c>, the
/// requester and the target): <c>grant.requested</c>, <c>grant.approved</c>, <c>grant.denied</c>,
/// <c>grant.revoked</c> or <c>grant.expired</c>.
/// </summary>
/// <param name="RecordType">The record's type, one of the constants of this class.</param>
/// <param name="Grant">The grant's id.</param>
public sealed record GrantEvent(string RecordType, string Grant) : RecordEvent
{
    /// <summary>The requester asked (with <see cref="Duration"/> and <see cref="Reason"/>).</summary>
    public const string Requested = "grant.requested";

    /// <summary>An approver agreed (<see cref="By"/>, <see cref="Expires"/>).</summary>
    public const string Approved = "grant.approved";

    /// <summary>An approver said no (<see cref="By"/>, optional <see cref="Reason"/>).</summary>
    public const string Denied = "grant.denied";

    /// <summary>The requester withdrew it or an approver revoked it (<see cref="By"/>).</summary>
    public const string Revoked = "grant.revoked";

    /// <summary>Its time ran out.</summary>
    public const string Expired = "grant.expired";

    /// <summary>How long the grant lasts once approved; written as <c>hh:mm:ss</c>.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>The requester's reason, or the approver's reason for a denial.</summary>
    public string? Reason { get; init; }

    /// <summary>Who approved, denied or revoked.</summary>
    public string? By { get; init; }

    /// <summary>When an approved grant ends.</summary>
    public DateTimeOffset? Expires { get; init; }

    /// <inheritdoc />
    public override string Type => RecordType;

    /// <inheritdoc />
    protected internal override void WriteFields(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteString("grant"u8, Grant);
        if (Duration is { } duration)
        {
            writer.WriteString("duration"u8, duration.ToString("c", System.Globalization.CultureInfo.InvariantCulture));
        }
        if (Reason is not null)
        {
            writer.WriteString("reason"u8, Reason);
        }
        if (By is not null)
        {
            writer.WriteString("by"u8, By);
        }
        if (Expires is { } expires)
        {
            writer.WriteString("expires"u8, expires.UtcDateTime.ToString(RecordingFormat.TimestampFormat, System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}
