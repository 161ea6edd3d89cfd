using System.Buffers;

namespace Wire.Postgres.Protocol;

/// <summary>What <see cref="PgFrameScanner.Scan"/> found.</summary>
public enum PgScanStatus
{
    /// <summary>Everything up to the returned position may be forwarded; more input is needed to go on.</summary>
    NeedMoreData,

    /// <summary>The client's Terminate ends the returned range; nothing after it is read.</summary>
    Terminated,

    /// <summary>The frame at the returned position is malformed; everything before it may be forwarded.</summary>
    Violation,
}

/// <summary>
/// Finds frame boundaries in one direction of a session without decoding frames, so whole frames
/// can be forwarded as they are. Frames up to the stream threshold are forwarded whole (so a message
/// Wire writes itself always lands on a frame boundary); a longer frame that is not fully buffered is
/// reported as forwardable as far as it goes and its remaining length is carried to the next call,
/// so it is streamed and never buffered whole. Allocation-free.
/// </summary>
public struct PgFrameScanner
{
    /// <summary>
    /// Frames longer than this are streamed rather than waited for. Well below the receive pipe's
    /// pause threshold, so waiting for a whole frame can never stall the pipe.
    /// </summary>
    public const int DefaultStreamThreshold = 64 * 1024;

    private readonly bool _frontend;
    private readonly int _maxFrameLength;
    private readonly int _streamThreshold;
    private long _remaining;

    /// <summary>Creates a scanner for frontend (client to server) or backend frames.</summary>
    /// <param name="frontend">True for client-to-server frames.</param>
    /// <param name="maxFrameLength">The largest length field accepted.</param>
    /// <param name="streamThreshold">Frames with a longer length field are streamed; shorter ones are forwarded whole.</param>
    public PgFrameScanner(bool frontend, int maxFrameLength, int streamThreshold = DefaultStreamThreshold)
    {
        _frontend = frontend;
        _maxFrameLength = maxFrameLength;
        _streamThreshold = streamThreshold;
        _remaining = 0;
        LastType = 0;
        ViolationReason = null;
    }

    /// <summary>Whether a frame has been forwarded in part: its remaining bytes are still to come.</summary>
    public readonly bool MidFrame => _remaining > 0;

    /// <summary>The type byte of the last frame that was started.</summary>
    public byte LastType { get; private set; }

    /// <summary>Why the last scan stopped with <see cref="PgScanStatus.Violation"/>.</summary>
    public string? ViolationReason { get; private set; }

    /// <summary>
    /// Scans <paramref name="buffer"/> (which starts where the previous scan's forwardable range ended).
    /// </summary>
    /// <param name="buffer">Unconsumed input.</param>
    /// <param name="forwardable">End of the bytes that may be forwarded now.</param>
    public PgScanStatus Scan(in ReadOnlySequence<byte> buffer, out SequencePosition forwardable)
    {
        var reader = new SequenceReader<byte>(buffer);
        if (_remaining > 0)
        {
            long n = Math.Min(_remaining, reader.Remaining);
            reader.Advance(n);
            _remaining -= n;
        }

        forwardable = reader.Position;
        while (_remaining == 0)
        {
            byte type;
            int length;
            try
            {
                if (!PgFrameReader.TryReadHeader(ref reader, _maxFrameLength, out type, out length))
                {
                    return PgScanStatus.NeedMoreData;
                }
            }
            catch (ProtocolViolationException ex)
            {
                ViolationReason = ex.Message;
                return PgScanStatus.Violation;
            }

            if (_frontend ? !PgFrameReader.IsFrontendType(type) : !PgFrameReader.IsBackendType(type))
            {
                ViolationReason = _frontend ? "invalid frontend message type" : "invalid backend message type";
                return PgScanStatus.Violation;
            }

            if (_frontend && type == (byte)PgFrontendMessageType.Terminate && length != 4)
            {
                // Terminate has no body; one that claims a body is not a Terminate anybody should honour.
                ViolationReason = "Terminate message with a body";
                return PgScanStatus.Violation;
            }

            long body = length - 4;
            if (reader.Remaining < body && length <= _streamThreshold)
            {
                // A small frame: wait for all of it (the header stays unconsumed).
                return PgScanStatus.NeedMoreData;
            }

            LastType = type;
            if (reader.Remaining >= body)
            {
                reader.Advance(body);
                forwardable = reader.Position;
                if (_frontend && type == (byte)PgFrontendMessageType.Terminate)
                {
                    return PgScanStatus.Terminated;
                }
            }
            else
            {
                _remaining = body - reader.Remaining;
                reader.AdvanceToEnd();
                forwardable = reader.Position;
            }
        }

        return PgScanStatus.NeedMoreData;
    }
}
