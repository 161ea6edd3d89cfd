using System.Buffers;
using FsCheck.Xunit;
using Wire.Fuzz.Targets;
using Wire.Postgres.Protocol;

namespace Wire.Fuzz;

/// <summary>Valid streams: any way the pipe cuts them, the reader finds exactly the frames that were written.</summary>
public sealed class PgFrameStreamProperties
{
    private const int MaxLength = PgStreamOracle.MaxLength;

    [Property(MaxTest = 500, Arbitrary = [typeof(PgArbitraries)])]
    public void TryReadFrame_yields_the_original_frames_on_any_segmentation(FrameStream stream)
    {
        var reader = new SequenceReader<byte>(SequenceCutter.At(stream.Bytes, stream.Cuts));
        int index = 0;
        while (PgFrameReader.TryReadFrame(ref reader, MaxLength, out byte type, out var body))
        {
            Assert.True(index < stream.Frames.Count, "more frames than were written");
            Assert.Equal(stream.Frames[index].Type, type);
            Assert.Equal(stream.Frames[index].Body, body.ToArray());
            index++;
        }

        Assert.Equal(stream.Frames.Count, index);
        Assert.True(reader.End);
    }

    [Property(MaxTest = 500, Arbitrary = [typeof(PgArbitraries)])]
    public void TryReadHeader_and_a_manual_skip_find_the_same_boundaries(FrameStream stream)
    {
        var reader = new SequenceReader<byte>(SequenceCutter.At(stream.Bytes, stream.Cuts));
        int index = 0;
        while (PgFrameReader.TryReadHeader(ref reader, MaxLength, out byte type, out int length))
        {
            Assert.True(index < stream.Frames.Count, "more headers than frames were written");
            Assert.Equal(stream.Frames[index].Type, type);
            Assert.Equal(stream.Frames[index].Body.Length + 4, length);
            Assert.True(reader.Remaining >= length - 4);
            Assert.Equal(stream.Frames[index].Body, reader.UnreadSequence.Slice(0, length - 4).ToArray());
            reader.Advance(length - 4);
            index++;
        }

        Assert.Equal(stream.Frames.Count, index);
        Assert.True(reader.End);
    }

    [Property(MaxTest = 200, Arbitrary = [typeof(PgArbitraries)])]
    public void Arriving_piece_by_piece_yields_the_complete_frames_so_far(FrameStream stream)
    {
        // As through a pipe: after each arrival the reader sees everything not yet consumed, in the
        // segments it arrived in, and must take exactly the frames that are complete.
        byte[] bytes = stream.Bytes;
        int[] ends = [.. stream.Cuts, bytes.Length];
        long consumed = 0;
        int index = 0;
        foreach (int received in ends)
        {
            var buffer = SequenceCutter.At(bytes[..received], stream.Cuts.Where(c => c < received)).Slice(consumed);
            var reader = new SequenceReader<byte>(buffer);
            while (PgFrameReader.TryReadFrame(ref reader, MaxLength, out byte type, out var body))
            {
                Assert.Equal(stream.Frames[index].Type, type);
                Assert.Equal(stream.Frames[index].Body, body.ToArray());
                index++;
            }

            consumed += reader.Consumed;
            long complete = stream.Frames.Take(index).Sum(f => 5L + f.Body.Length);
            Assert.Equal(complete, consumed);
            Assert.True(
                index == stream.Frames.Count || complete + 5 + stream.Frames[index].Body.Length > received,
                "a complete frame was left unread");
        }

        Assert.Equal(stream.Frames.Count, index);
        Assert.Equal(bytes.Length, consumed);
    }

    [Property(MaxTest = 200, Arbitrary = [typeof(PgArbitraries)])]
    public void Backend_target_accepts_every_valid_stream(FrameStream stream)
    {
        FuzzTargets.Get("pg-backend-stream").Run(stream.Bytes);
        var result = PgStreamOracle.Scan(SequenceCutter.At(stream.Bytes, stream.Cuts), frontend: false);
        Assert.Null(result.Violation);
        Assert.Equal(stream.Frames.Count, result.Frames.Count);
    }
}
