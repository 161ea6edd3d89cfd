using Wire.Fuzz.Targets;

namespace Wire.Fuzz;

/// <summary>
/// Inputs pinned for good, each run through its target the way the fuzz driver runs it: only a protocol violation may
/// escape. Crashes the fuzzers find go here minimised, as base64 with the target's name and a line on the bug they
/// showed (fuzz/README.md, "Findings become regression tests"); so far <c>fuzz/run all 60</c> found none, and the
/// entries are boundary inputs pinned on purpose: texts whose interesting bytes end exactly where the content scanner's
/// vector blocks end, a JSON text cut inside a masked value, and an SSH session whose window arithmetic saturates.
/// </summary>
public sealed class FuzzRegressionTests
{
    /// <summary>(target, input as base64, what it pins).</summary>
    public static TheoryData<string, string, string> Inputs => new()
    {
        { "detectors", "eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHhBS0lB", "a trigger in the last bytes of a 64-byte block (63 bytes)" },
        { "detectors", "eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4ZXlKaA==", "a token start ending a 64-byte block exactly" },
        { "detectors", "MTExMTExMTExMTExMTExMTExMTExMTExMTExMTQxMTE=", "32 digits: the vector classification ends at the end of the input" },
        { "json-masker", "eyJpdGVtcyI6W3siZGF0YSI6eyJrIjoiQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB", "a masked string cut by the end of the input" },
        { "ssh-channels", "XwAAGFoAAAAHc2Vzc2lvbgAAAAAAAABAAAAAIAEAEVsAAAAAAAAAAQAAAEAAAAAgAQAJXQAAAAD/////AQAJXQAAAAD/////AAAxXgAAAAAAAAAoeHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eAEAMV4AAAAAAAAAKHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHg=", "window adjustments past uint.MaxValue saturate; data then flows both ways" },
    };

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Pinned_input_runs_with_only_protocol_violations_escaping(string target, string base64, string pins)
    {
        byte[] input = Convert.FromBase64String(base64);
        var exception = Record.Exception(() => FuzzTargets.RunAcceptingViolations(FuzzTargets.Get(target), input));
        Assert.True(exception is null, $"{target}, {pins}: {exception}");

        // Every prefix too: a finding minimised further must not turn into a new one.
        int stride = FuzzTargets.Get(target).IsSlow ? Math.Max(1, input.Length / 8) : 1;
        for (int n = 0; n < input.Length; n += stride)
        {
            FuzzTargets.RunAcceptingViolations(FuzzTargets.Get(target), input.AsSpan(0, n));
        }
    }
}
