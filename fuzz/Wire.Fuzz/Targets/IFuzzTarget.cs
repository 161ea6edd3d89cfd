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

    /// <summary>Feeds <paramref name="input"/> to the reader and checks the target's invariants.</summary>
    void Run(ReadOnlySpan<byte> input);
}
