using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Wire.Fuzz.Targets;
using Wire.Postgres.Protocol;

namespace Wire.Fuzz;

/// <summary>Valid frontend frames without Terminate (which would end the stream early).</summary>
public sealed record FrontendFrameStream(FrameStream Stream)
{
    public override string ToString() => Stream.ToString();
}

/// <summary>Generators for the scanner properties, on top of <see cref="PgArbitraries"/>.</summary>
public static class PgScannerArbitraries
{
    public static Arbitrary<FrontendFrameStream> FrontendFrameStreams() =>
        (from count in Gen.Choose(0, 20)
         from frames in Gen.ArrayOf(PgArbitraries.Frame(PgTypes.Frontend.Where(t => t != (byte)'X').ToArray()), count)
         let length = frames.Sum(f => 5 + f.Body.Length)
         from cuts in PgArbitraries.Cuts(length)
         select new FrontendFrameStream(new FrameStream(frames, cuts))).ToArbitrary();
}

/// <summary>
/// The pump scanner, fed as a pipe feeds it (append a chunk, scan the unconsumed rest, consume up to the
/// returned position): valid streams are forwarded exactly, and any input is forwarded exactly as far
/// as the protocol allows, whatever the chunking.
/// </summary>
public sealed class PgFrameScannerProperties
{
    [Property(MaxTest = 300, Arbitrary = [typeof(PgArbitraries)])]
    public void Scanner_forwards_valid_backend_streams_exactly_in_any_chunking(FrameStream stream)
        => AssertForwardedWhole(stream, frontend: false);

    [Property(MaxTest = 300, Arbitrary = [typeof(PgScannerArbitraries)])]
    public void Scanner_forwards_valid_frontend_streams_exactly_in_any_chunking(FrontendFrameStream stream)
        => AssertForwardedWhole(stream.Stream, frontend: true);

    [Property(MaxTest = 300, Arbitrary = [typeof(PgArbitraries)])]
    public void Scanner_on_random_bytes_forwards_the_longest_valid_prefix(SegmentedBytes input)
    {
        AssertLongestValidPrefix(input.Bytes, input.Cuts, frontend: false);
        AssertLongestValidPrefix(input.Bytes, input.Cuts, frontend: true);
    }

    [Property(MaxTest = 500, Arbitrary = [typeof(PgArbitraries)])]
    public void Scanner_on_damaged_streams_forwards_the_longest_valid_prefix_backend(MutatedStream input)
        => AssertLongestValidPrefix(input.Bytes, input.Cuts, frontend: false);

    /// <summary>
    /// Separate from the backend direction, as only frontend streams end at Terminate: damaged
    /// frontend streams hold 'X' frames with bodies, which must be rejected however the pipe cuts them.
    /// </summary>
    [Property(MaxTest = 500, Arbitrary = [typeof(PgArbitraries)])]
    public void Scanner_on_damaged_streams_forwards_the_longest_valid_prefix_frontend(MutatedStream input)
        => AssertLongestValidPrefix(input.Bytes, input.Cuts, frontend: true);

    [Property(MaxTest = 100, Arbitrary = [typeof(PgArbitraries)])]
    public void Scanner_target_accepts_or_rejects_random_bytes_without_findings(SegmentedBytes input)
        => FuzzTargets.RunAcceptingViolations(new PgScannerFuzzTarget(), input.Bytes);

    private static void AssertForwardedWhole(FrameStream stream, bool frontend)
    {
        byte[] bytes = stream.Bytes;
        foreach (int threshold in PgScannerOracle.StreamThresholds)
        {
            var outcome = PgScannerOracle.Pump(bytes, stream.Cuts, frontend, threshold, checkSteps: true);
            Assert.Equal(bytes.Length, outcome.Forwarded);
            Assert.Equal(PgScanStatus.NeedMoreData, outcome.Status);
            Assert.False(outcome.MidFrame);
            Assert.Equal(stream.Frames.Count > 0 ? stream.Frames[^1].Type : (byte)0, outcome.LastType);
        }
    }

    private static void AssertLongestValidPrefix(byte[] bytes, int[] cuts, bool frontend)
    {
        foreach (int threshold in PgScannerOracle.StreamThresholds)
        {
            // The reference model's whole frames, plus a last frame whose header is complete and valid
            // and which is long enough to be streamed.
            var expected = PgScannerOracle.Expected(bytes, frontend, threshold);
            Assert.Equal(expected, PgScannerOracle.Model(bytes, frontend, threshold));

            var actual = PgScannerOracle.Pump(bytes, cuts, frontend, threshold, checkSteps: true);
            Assert.True(
                actual == expected,
                $"{(frontend ? "frontend" : "backend")}, threshold {threshold}: scanner gave {actual}; the protocol says {expected}");
        }
    }
}
