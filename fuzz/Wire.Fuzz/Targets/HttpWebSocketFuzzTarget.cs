using System.Buffers;
using Wire.Http.Protocol;

namespace Wire.Fuzz.Targets;

/// <summary>
/// WebSocket frames in both directions: headers read with <see cref="Http1WebSocketFrameHeader"/>, payloads skipped.
/// The first input byte picks the direction; the same frames must be found however the rest is cut.
/// </summary>
public sealed class HttpWebSocketFuzzTarget : IFuzzTarget
{
    public string Name => "http-websocket";

    public void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }
        bool fromClient = (input[0] & 1) == 1;
        var bytes = input[1..].ToArray();
        var whole = Read(new ReadOnlySequence<byte>(FuzzMemory.Copy(input[1..])), fromClient);
        var cut = Read(SequenceCutter.Chunks(bytes, [1, 3, 2]), fromClient);
        if (!whole.SequenceEqual(cut))
        {
            throw new FuzzInvariantException("the frames depend on how the input was cut");
        }
    }

    private static List<Http1WebSocketFrameHeader> Read(ReadOnlySequence<byte> input, bool fromClient)
    {
        var frames = new List<Http1WebSocketFrameHeader>();
        var reader = new SequenceReader<byte>(input);
        while (frames.Count < 256 && Http1WebSocketFrameHeader.TryRead(ref reader, fromClient, out var header))
        {
            if (header.HeaderLength is < 2 or > 14 || header.PayloadLength < 0 || header.IsControl && header.PayloadLength > 125)
            {
                throw new FuzzInvariantException("a header breaks the limits it enforces");
            }
            frames.Add(header);
            if (reader.Remaining < header.PayloadLength)
            {
                break;
            }
            reader.Advance(header.PayloadLength);
        }
        return frames;
    }
}
