using System.Buffers;

namespace Wire.Benchmarks;

/// <summary>Builds multi-segment sequences, as pipes hand them out.</summary>
internal static class Segments
{
    public static ReadOnlySequence<byte> Split(byte[] data, int segmentSize)
    {
        Segment? first = null, last = null;
        for (int offset = 0; offset < data.Length; offset += segmentSize)
        {
            var memory = data.AsMemory(offset, Math.Min(segmentSize, data.Length - offset));
            var segment = new Segment(memory, last?.RunningIndex + last?.Memory.Length ?? 0);
            if (last is null)
            {
                first = segment;
            }
            else
            {
                last.SetNext(segment);
            }

            last = segment;
        }

        return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }
}
