using System.Diagnostics.Metrics;
using Wire.Enforcement.Diagnostics;

namespace Wire.Enforcement.Recording;

/// <summary>The recorder's instruments on the <c>Wire</c> meter.</summary>
internal static class RecordingMetrics
{
    /// <summary>Records written to recordings.</summary>
    public static readonly Counter<long> Records =
        WireDiagnostics.Meter.CreateCounter<long>("wire.recording.records", "{record}", "Records written to session recordings.");

    /// <summary>Events refused because a recorder's queue was full.</summary>
    public static readonly Counter<long> Dropped =
        WireDiagnostics.Meter.CreateCounter<long>("wire.recording.dropped", "{record}", "Events refused because a recorder fell behind.");

    /// <summary>Recordings that could not be created or written.</summary>
    public static readonly Counter<long> Failures =
        WireDiagnostics.Meter.CreateCounter<long>("wire.recording.failures", "{recording}", "Recordings that could not be created or written.");
}
