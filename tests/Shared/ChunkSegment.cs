using System.Buffers;

namespace Wire.Testing;

/// <summary>
/// A segment of a hand-built multi-segment <see cref="ReadOnlySequence{T}"/>, as pipes hand them out.
/// Shared (linked) by the tests, the fuzz properties and the benchmarks.
/// </summary>
internal sealed class ChunkSegment : ReadOnlySequenceSegment<byte>
{
    public ChunkSegment(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    /// <summary>Chains a new segment after this one and returns it.</summary>
    public ChunkSegment Append(ReadOnlyMemory<byte> memory)
    {
        var next = new ChunkSegment(memory, RunningIndex + Memory.Length);
        Next = next;
        return next;
    }

    /// <summary>A sequence with one segment per chunk (empty chunks become empty segments).</summary>
    public static ReadOnlySequence<byte> Sequence(IReadOnlyList<ReadOnlyMemory<byte>> chunks)
    {
        if (chunks.Count == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new ChunkSegment(chunks[0], 0);
        var last = first;
        for (int i = 1; i < chunks.Count; i++)
        {
            last = last.Append(chunks[i]);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}
