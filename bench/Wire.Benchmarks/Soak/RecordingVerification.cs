namespace Wire.Benchmarks.Soak;

/// <summary>What <c>wire verify</c> said about a soak run's recordings.</summary>
/// <param name="Files">Recordings written.</param>
/// <param name="Checked">Recordings verified (all, or a sample).</param>
/// <param name="Ok">Verified OK.</param>
/// <param name="Bad">Not OK (edited, removed, reordered, truncated, appended, wrong key), or not reported on.</param>
/// <param name="Records">Records in the files that verified.</param>
/// <param name="Lost">Events the sessions produced that were never recorded (<c>records.lost</c>).</param>
/// <param name="Duration">How long <c>wire verify</c> took.</param>
/// <param name="Problems">The lines for files that did not verify (the first ones are reported).</param>
internal sealed record RecordingVerification(
    int Files, int Checked, int Ok, int Bad, long Records, long Lost, TimeSpan Duration, IReadOnlyList<string> Problems);
