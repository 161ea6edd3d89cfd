using System.Buffers;
using Xunit.Sdk;

namespace Wire.Testing;

/// <summary>
/// The ways a payload can arrive from a pipe: every codec test runs on all of them, because a reader
/// that is only right for one contiguous buffer is wrong.
/// </summary>
internal static class Segmentation
{
    /// <summary>Bytes placed around the payload by <see cref="Guarded"/>; a reader that touches them is reading out of bounds.</summary>
    public const byte GuardByte = 0xA5;

    private const int GuardLength = 7;

    /// <summary>
    /// One segment; one segment with guard bytes outside the slice; every split point into two
    /// segments (including an empty first or last segment); one byte per segment; and the
    /// two-segment splits again with guard bytes outside the slice.
    /// </summary>
    public static IEnumerable<(string Name, ReadOnlySequence<byte> Sequence)> All(byte[] payload)
    {
        yield return ("single segment", new ReadOnlySequence<byte>(payload));
        yield return ("single segment with guards", Guarded(payload));
        for (int split = 0; split <= payload.Length; split++)
        {
            yield return ($"split at {split}", FromChunks(payload.AsMemory(0, split), payload.AsMemory(split)));
        }

        for (int split = 0; split <= payload.Length; split++)
        {
            yield return ($"split at {split} with guards", GuardedSplit(payload, split));
        }

        yield return ("one byte per segment", OneBytePerSegment(payload));
    }

    /// <summary>
    /// Runs <paramref name="check"/> on every segmentation of <paramref name="payload"/>; a failure
    /// names the segmentation it happened on.
    /// </summary>
    public static void ForEach(byte[] payload, Action<ReadOnlySequence<byte>> check)
    {
        foreach (var (name, sequence) in All(payload))
        {
            Assert.Equal(payload.Length, sequence.Length);
            try
            {
                check(sequence);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                throw new XunitException($"segmentation '{name}': {ex.Message}", ex);
            }
        }
    }

    /// <summary>The payload in the middle of a larger array, sliced so the guard bytes are outside the sequence.</summary>
    public static ReadOnlySequence<byte> Guarded(byte[] payload)
    {
        var array = new byte[payload.Length + 2 * GuardLength];
        array.AsSpan().Fill(GuardByte);
        payload.CopyTo(array, GuardLength);
        return new ReadOnlySequence<byte>(array, GuardLength, payload.Length);
    }

    /// <summary>
    /// Two segments split at <paramref name="split"/>, with guard bytes before the first and after the
    /// last, outside the slice.
    /// </summary>
    public static ReadOnlySequence<byte> GuardedSplit(byte[] payload, int split)
    {
        var left = new byte[GuardLength + split];
        var right = new byte[payload.Length - split + GuardLength];
        left.AsSpan().Fill(GuardByte);
        right.AsSpan().Fill(GuardByte);
        payload.AsSpan(0, split).CopyTo(left.AsSpan(GuardLength));
        payload.AsSpan(split).CopyTo(right);
        var first = new ChunkSegment(left, 0);
        var last = first.Append(right);
        return new ReadOnlySequence<byte>(first, GuardLength, last, payload.Length - split);
    }

    /// <summary>One byte per segment.</summary>
    public static ReadOnlySequence<byte> OneBytePerSegment(byte[] payload)
    {
        var chunks = new ReadOnlyMemory<byte>[payload.Length];
        for (int i = 0; i < payload.Length; i++)
        {
            chunks[i] = payload.AsMemory(i, 1);
        }

        return FromChunks(chunks);
    }

    /// <summary>The payload cut at the given ascending offsets.</summary>
    public static ReadOnlySequence<byte> SplitAt(byte[] payload, params int[] offsets)
    {
        var chunks = new ReadOnlyMemory<byte>[offsets.Length + 1];
        int start = 0;
        for (int i = 0; i < offsets.Length; i++)
        {
            chunks[i] = payload.AsMemory(start, offsets[i] - start);
            start = offsets[i];
        }

        chunks[^1] = payload.AsMemory(start);
        return FromChunks(chunks);
    }

    /// <summary>A sequence with one segment per chunk; empty chunks become empty segments.</summary>
    public static ReadOnlySequence<byte> FromChunks(params ReadOnlyMemory<byte>[] chunks) => ChunkSegment.Sequence(chunks);

    /// <summary>The bytes from the reader's position to the end of its sequence.</summary>
    public static byte[] Rest(in SequenceReader<byte> reader) => reader.UnreadSequence.ToArray();
}
