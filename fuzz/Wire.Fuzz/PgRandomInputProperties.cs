using System.Buffers;
using FsCheck.Xunit;
using Wire.Fuzz.Targets;
using Wire.Postgres.Protocol;

namespace Wire.Fuzz;

/// <summary>
/// Hostile input: whatever the bytes, the readers either decode them or reject them with a protocol
/// violation; they never throw anything else and never stop making progress.
/// </summary>
public sealed class PgRandomInputProperties
{
    private const int MaxLength = 1 << 20;

    [Property(MaxTest = 500, Arbitrary = [typeof(PgArbitraries)])]
    public void Reader_on_random_bytes_only_throws_protocol_violations(SegmentedBytes input)
    {
        ReadAll(SequenceCutter.At(input.Bytes, input.Cuts));
    }

    [Property(MaxTest = 1000, Arbitrary = [typeof(PgArbitraries)])]
    public void Reader_on_damaged_streams_only_throws_protocol_violations(MutatedStream input)
    {
        ReadAll(SequenceCutter.At(input.Bytes, input.Cuts));
    }

    [Property(MaxTest = 1000, Arbitrary = [typeof(PgArbitraries)])]
    public void Stream_targets_agree_with_the_reference_model_on_damaged_streams(MutatedStream input)
    {
        FuzzTargets.RunAcceptingViolations(FuzzTargets.Get("pg-backend-stream"), input.Bytes);
        FuzzTargets.RunAcceptingViolations(FuzzTargets.Get("pg-frontend-stream"), input.Bytes);

        var expected = PgStreamOracle.Reference(input.Bytes, frontend: false);
        var actual = PgStreamOracle.Scan(SequenceCutter.At(input.Bytes, input.Cuts), frontend: false);
        Assert.True(actual.SameAs(expected), $"reader: {actual}; reference: {expected}");
    }

    [Property(MaxTest = 300, Arbitrary = [typeof(PgArbitraries)])]
    public void Stream_targets_on_random_bytes_only_throw_protocol_violations(SegmentedBytes input)
    {
        foreach (var target in FuzzTargets.All)
        {
            FuzzTargets.RunAcceptingViolations(target, input.Bytes);
        }
    }

    [Property(MaxTest = 1000, Arbitrary = [typeof(PgArbitraries)])]
    public void Startup_parse_only_throws_protocol_violations(StartupBytes input)
    {
        // The target also checks that whatever parses writes back to the same bytes.
        FuzzTargets.RunAcceptingViolations(FuzzTargets.Get("pg-startup"), input.Bytes);
    }

    [Property(MaxTest = 1000, Arbitrary = [typeof(PgArbitraries)])]
    public void Startup_parse_on_arbitrary_bytes_only_throws_protocol_violations(byte[] input)
    {
        try
        {
            PgStartupMessage.Parse(3 << 16, input);
        }
        catch (ProtocolViolationException)
        {
        }
    }

    [Property(MaxTest = 1000, Arbitrary = [typeof(PgArbitraries)])]
    public void Error_fields_parse_never_throws(ErrorFieldBytes input)
    {
        var fields = PgErrorFields.Parse(input.Bytes);
        Assert.NotNull(fields.Severity);
        Assert.NotNull(fields.SqlState);
        Assert.NotNull(fields.Message);
    }

    [Property(MaxTest = 300)]
    public void Error_fields_parse_on_arbitrary_bytes_never_throws(byte[] input)
    {
        _ = PgErrorFields.Parse(input);
    }

    /// <summary>Reads frames until the reader wants more data or rejects the input.</summary>
    private static void ReadAll(ReadOnlySequence<byte> input)
    {
        var reader = new SequenceReader<byte>(input);
        long limit = (input.Length / PgFrameReader.HeaderLength) + 1;
        long frames = 0;
        try
        {
            while (PgFrameReader.TryReadFrame(ref reader, MaxLength, out _, out var body))
            {
                Assert.True(++frames <= limit, "the reader returned more frames than the input can hold");
                Assert.True(body.Length <= MaxLength - 4);
            }
        }
        catch (ProtocolViolationException)
        {
            // The only way the reader may refuse input.
        }
    }
}
