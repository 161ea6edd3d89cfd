namespace Wire.Fuzz.Targets;

/// <summary>
/// One reader under fuzzing, shaped like dotnet/runtime's <c>IFuzzer</c>: a name for the driver and
/// an entry point that takes the fuzzer's bytes. A target may let <see cref="ProtocolViolationException"/>
/// escape (that is the reader rejecting input, as it should); any other exception is a finding.
/// </summary>
public interface IFuzzTarget
{
    /// <summary>Stable name used by the fuzz driver to pick the target and name its corpus.</summary>
    string Name { get; }

    /// <summary>
    /// True for a target that runs a whole session per input (milliseconds, not microseconds): the seed test then
    /// samples the prefixes of its seeds instead of running every one, and the fuzz driver gives it a longer timeout.
    /// </summary>
    bool IsSlow => false;

    /// <summary>Feeds <paramref name="input"/> to the reader and checks the target's invariants.</summary>
    void Run(ReadOnlySpan<byte> input);
}
