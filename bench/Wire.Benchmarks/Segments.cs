using System.Buffers;
using Wire.Testing;

namespace Wire.Benchmarks;

/// <summary>Builds multi-segment sequences, as pipes hand them out.</summary>
internal static class Segments
{
    public static ReadOnlySequence<byte> Split(byte[] data, int segmentSize)
    {
        var chunks = new List<ReadOnlyMemory<byte>>();
        for (int offset = 0; offset < data.Length; offset += segmentSize)
        {
            chunks.Add(data.AsMemory(offset, Math.Min(segmentSize, data.Length - offset)));
        }

        return ChunkSegment.Sequence(chunks);
    }
}
