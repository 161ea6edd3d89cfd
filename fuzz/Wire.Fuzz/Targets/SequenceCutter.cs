using Wire.Testing;
using System.Buffers;

namespace Wire.Fuzz.Targets;

/// <summary>Builds multi-segment sequences, the way a pipe hands data to a reader.</summary>
public static class SequenceCutter
{
    /// <summary>The payload cut at the given offsets (sorted here; repeats make empty segments).</summary>
    public static ReadOnlySequence<byte> At(byte[] payload, IEnumerable<int> offsets)
    {
        var chunks = new List<ReadOnlyMemory<byte>>();
        int start = 0;
        foreach (int offset in offsets.Select(o => Math.Clamp(o, 0, payload.Length)).Order())
        {
            chunks.Add(payload.AsMemory(start, offset - start));
            start = offset;
        }

        chunks.Add(payload.AsMemory(start));
        return FromChunks(chunks);
    }

    /// <summary>The payload cut into chunks whose sizes cycle through <paramref name="sizes"/>.</summary>
    public static ReadOnlySequence<byte> Chunks(byte[] payload, int[] sizes)
    {
        var chunks = new List<ReadOnlyMemory<byte>>();
        int start = 0;
        for (int i = 0; start < payload.Length; i++)
        {
            int size = Math.Min(sizes[i % sizes.Length], payload.Length - start);
            chunks.Add(payload.AsMemory(start, size));
            start += size;
        }

        return FromChunks(chunks);
    }

    /// <summary>One segment per chunk.</summary>
    public static ReadOnlySequence<byte> FromChunks(IReadOnlyList<ReadOnlyMemory<byte>> chunks) => ChunkSegment.Sequence(chunks);
}
