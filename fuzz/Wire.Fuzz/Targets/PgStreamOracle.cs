using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.ExceptionServices;
using Wire.Postgres.Protocol;

namespace Wire.Fuzz.Targets;

/// <summary>A frame found in a stream: its type, body and offset.</summary>
public readonly record struct ScannedFrame(byte Type, byte[] Body, long Offset)
{
    public bool Equals(ScannedFrame other) => Type == other.Type && Offset == other.Offset && Body.AsSpan().SequenceEqual(other.Body);

    public override int GetHashCode() => HashCode.Combine(Type, Offset, Body.Length);
}

/// <summary>The outcome of scanning a stream: the frames, the bytes consumed, and the violation that stopped it, if any.</summary>
public sealed record ScanResult(IReadOnlyList<ScannedFrame> Frames, long Consumed, ProtocolViolationException? Violation)
{
    public bool SameAs(ScanResult other)
        => Consumed == other.Consumed
           && Frames.SequenceEqual(other.Frames)
           && Violation?.Message == other.Violation?.Message;

    public override string ToString()
        => $"{Frames.Count} frames, {Consumed} bytes consumed, violation: {Violation?.Message ?? "none"}";
}

/// <summary>
/// The shared body of the stream targets. The reader is run on the input as one segment and cut into
/// many, and both runs are compared with a reference model written straight from the protocol
/// description on a flat array; any disagreement, or any exception other than a protocol violation,
/// is a finding.
/// </summary>
public static class PgStreamOracle
{
    /// <summary>The frame limit the targets use (the gateway's default order of magnitude).</summary>
    public const int MaxLength = 1 << 20;

    /// <summary>Runs the checks; rethrows the reader's protocol violation, if it raised one, once they pass.</summary>
    public static void Run(ReadOnlySpan<byte> input, bool frontend)
    {
        byte[] bytes = input.ToArray();
        var expected = Reference(bytes, frontend);

        var whole = Scan(new ReadOnlySequence<byte>(FuzzMemory.Copy(input)), frontend);
        Require(whole, expected, "one segment");

        var cut = Scan(SequenceCutter.Chunks(bytes, [1, 2, 3, 5, 8, 13, 4, 7]), frontend);
        Require(cut, expected, "chunked");

        if (bytes.Length <= 4096)
        {
            var single = Scan(SequenceCutter.Chunks(bytes, [1]), frontend);
            Require(single, expected, "one byte per segment");
        }

        if (whole.Violation is not null)
        {
            ExceptionDispatchInfo.Throw(whole.Violation);
        }
    }

    /// <summary>
    /// Scans <paramref name="input"/> with <see cref="PgFrameReader.TryReadFrame"/> until it needs more
    /// data, a violation, or (frontend) Terminate; checks each step's bookkeeping on the way.
    /// </summary>
    public static ScanResult Scan(in ReadOnlySequence<byte> input, bool frontend)
    {
        var reader = new SequenceReader<byte>(input);
        var frames = new List<ScannedFrame>();
        ProtocolViolationException? violation = null;

        // A frame is at least five bytes, so this many iterations can only mean a reader that stopped advancing.
        long budget = (input.Length / PgFrameReader.HeaderLength) + 1;
        try
        {
            while (true)
            {
                long start = reader.Consumed;
                if (!PgFrameReader.TryReadFrame(ref reader, MaxLength, out byte type, out var body))
                {
                    if (reader.Consumed != start)
                    {
                        throw new FuzzInvariantException("TryReadFrame returned false but consumed input");
                    }

                    break;
                }

                if (--budget < 0)
                {
                    throw new FuzzInvariantException("TryReadFrame keeps returning frames without consuming the input");
                }

                if (reader.Consumed != start + PgFrameReader.HeaderLength + body.Length || body.Length > MaxLength - 4)
                {
                    throw new FuzzInvariantException("TryReadFrame advanced by a different amount than the frame it returned");
                }

                if (frontend ? !PgFrameReader.IsFrontendType(type) : !PgFrameReader.IsBackendType(type))
                {
                    // What the session does with a frame it does not know: the stream is desynchronised.
                    reader.Rewind(reader.Consumed - start);
                    ProtocolViolationException.Throw(frontend ? "invalid frontend message type" : "invalid backend message type");
                }

                byte[] bodyBytes = body.ToArray();
                frames.Add(new ScannedFrame(type, bodyBytes, start));
                if (!frontend && type is (byte)'E' or (byte)'N')
                {
                    // Decoded for logs and rules; lenient by design, so it must never throw.
                    _ = PgErrorFields.Parse(bodyBytes);
                }

                if (frontend && type == (byte)'X')
                {
                    // Nothing after Terminate is read.
                    break;
                }
            }
        }
        catch (ProtocolViolationException ex)
        {
            violation = ex;
        }

        return new ScanResult(frames, reader.Consumed, violation);
    }

    /// <summary>The protocol's framing rules applied to a flat array, as simply as they can be written.</summary>
    public static ScanResult Reference(byte[] bytes, bool frontend)
    {
        var frames = new List<ScannedFrame>();
        int position = 0;
        while (bytes.Length - position >= 5)
        {
            byte type = bytes[position];
            int length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(position + 1));
            if (length < 4)
            {
                return new ScanResult(frames, position, new ProtocolViolationException("invalid message length"));
            }

            if (length > MaxLength)
            {
                return new ScanResult(frames, position, new ProtocolViolationException("message length exceeds the configured maximum"));
            }

            if (bytes.Length - position - 1 < length)
            {
                break;
            }

            bool known = frontend ? PgTypes.Frontend.Contains(type) : PgTypes.Backend.Contains(type);
            if (!known)
            {
                string reason = frontend ? "invalid frontend message type" : "invalid backend message type";
                return new ScanResult(frames, position, new ProtocolViolationException(reason));
            }

            frames.Add(new ScannedFrame(type, bytes.AsSpan(position + 5, length - 4).ToArray(), position));
            position += 1 + length;
            if (frontend && type == (byte)'X')
            {
                break;
            }
        }

        return new ScanResult(frames, position, null);
    }

    private static void Require(ScanResult actual, ScanResult expected, string segmentation)
    {
        if (!actual.SameAs(expected))
        {
            throw new FuzzInvariantException($"{segmentation}: reader found {actual}; the protocol says {expected}");
        }
    }
}
