using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Wire.Enforcement.Diagnostics;

/// <summary>
/// The process-wide diagnostic sources: a <see cref="Meter"/> and an <see cref="ActivitySource"/>, both
/// named <c>Wire</c>. Attributes use OpenTelemetry's semantic-convention names where one exists (the protocol is
/// <c>network.protocol.name</c>: <c>postgresql</c>, <c>ssh</c>, <c>http</c>) and a <c>wire.</c> name where none does;
/// docs/admin-api.md ("Telemetry") lists them all.
/// </summary>
internal static class WireDiagnostics
{
    /// <summary>The name shared by the meter and the activity source.</summary>
    public const string Name = "Wire";

    /// <summary>The meter every Wire instrument belongs to.</summary>
    public static readonly Meter Meter = new(Name, typeof(WireDiagnostics).Assembly.GetName().Version?.ToString());

    /// <summary>The activity source for sessions and commands.</summary>
    public static readonly ActivitySource ActivitySource = new(Name, typeof(WireDiagnostics).Assembly.GetName().Version?.ToString());

    /// <summary>Accepted client connections, tagged with <c>network.protocol.name</c>.</summary>
    public static readonly Counter<long> Connections =
        Meter.CreateCounter<long>("wire.connections", "{connection}", "Client connections accepted.");

    /// <summary>
    /// Connections refused by a limit, tagged with <c>network.protocol.name</c> and <c>wire.reason</c> (<c>max_connections</c>,
    /// <c>max_connections_per_identity</c>).
    /// </summary>
    public static readonly Counter<long> ConnectionsRefused =
        Meter.CreateCounter<long>("wire.connections.refused", "{connection}", "Client connections refused by a connection limit.");

    /// <summary>Sessions currently open, tagged with <c>network.protocol.name</c>.</summary>
    public static readonly UpDownCounter<long> ActiveSessions =
        Meter.CreateUpDownCounter<long>("wire.sessions.active", "{session}", "Sessions currently open.");

    /// <summary>Sessions that ended, tagged with their end reason (<c>wire.end_reason</c>).</summary>
    public static readonly Counter<long> SessionsEnded =
        Meter.CreateCounter<long>("wire.sessions.ended", "{session}", "Sessions ended, by end reason.");

    /// <summary>Failed client authentications, tagged with <c>network.protocol.name</c>.</summary>
    public static readonly Counter<long> AuthenticationFailures =
        Meter.CreateCounter<long>("wire.authentication.failures", "{attempt}", "Client authentications refused.");

    /// <summary>
    /// Bytes relayed, tagged with <c>network.protocol.name</c> and <c>wire.direction</c> (<c>to_upstream</c> or <c>to_client</c>):
    /// PostgreSQL messages, SSH channel data, HTTP heads and bodies (and upgraded connections' bytes).
    /// </summary>
    public static readonly Counter<long> BytesRelayed =
        Meter.CreateCounter<long>("wire.bytes", "By", "Bytes relayed between client and upstream.");

    /// <summary>
    /// The latency Wire adds per relayed batch of messages: from the read that completed them to their hand-over to the
    /// other side's socket (judging, masking and any catalog lookup included; a review's wait is not). Tagged with
    /// <c>network.protocol.name</c> and <c>wire.direction</c>. A batch is what one read completed: PostgreSQL messages, one SSH
    /// channel data packet, an HTTP request head (read to forwarded) or body chunk. Measured only while a listener is attached.
    /// </summary>
    public static readonly Histogram<double> AddedLatency =
        Meter.CreateHistogram<double>("wire.proxy.added_latency", "ms", "Latency Wire adds to each relayed batch of messages.");

    /// <summary>
    /// Values masked before they reached the client or a recording, tagged with <c>network.protocol.name</c>: PostgreSQL field
    /// values (DataRow, CopyData, notices), detector hits in SSH output, HTTP JSON values and detector hits. Added once per
    /// message or chunk.
    /// </summary>
    public static readonly Counter<long> Masked =
        Meter.CreateCounter<long>("wire.masked", "{value}", "Values masked before they reached the client or a recording, by protocol.");

    /// <summary>
    /// Executions judged by rules, tagged with <c>network.protocol.name</c> and <c>wire.verdict</c> (<c>allow</c>, <c>deny</c>,
    /// <c>review</c>). Sessions whose rules allow everything are not judged per execution and are not counted.
    /// </summary>
    public static readonly Counter<long> Commands =
        Meter.CreateCounter<long>("wire.commands", "{command}", "Executions judged by the rules, by protocol and verdict.");

    /// <summary>
    /// How long reviews waited for a decision, tagged with <c>network.protocol.name</c> and <c>wire.outcome</c>
    /// (<c>approved</c>, <c>denied</c>, <c>timed_out</c>, <c>cancelled</c>, <c>failed</c>).
    /// </summary>
    public static readonly Histogram<double> ApprovalWait =
        Meter.CreateHistogram<double>("wire.approval.wait", "s", "Time a reviewed execution waited for its decision, by outcome.");

    /// <summary>
    /// Steps of just-in-time grants, tagged with <c>wire.outcome</c> (<c>requested</c>, <c>approved</c>, <c>denied</c>,
    /// <c>revoked</c>, <c>expired</c>).
    /// </summary>
    public static readonly Counter<long> Grants =
        Meter.CreateCounter<long>("wire.grants", "{grant}", "Just-in-time grants requested, approved, denied, revoked and expired.");
}
