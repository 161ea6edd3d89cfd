using System.Buffers;
using System.Runtime.CompilerServices;
using Wire.Enforcement;

namespace Wire.Postgres.Protocol;

/// <summary>
/// Reads the envelope of tagged protocol 3.0 messages. Stateless; callers keep the stream state.
/// </summary>
/// <remarks>
/// <code>
/// +------+----------------+---------------------+
/// | type | length (int32) | body (length - 4)   |
/// +------+----------------+---------------------+
///          ^ counts itself, not the type byte
/// </code>
/// https://www.postgresql.org/docs/current/protocol-overview.html#PROTOCOL-MESSAGE-CONCEPTS
/// </remarks>
public static class PgFrameReader
{
    /// <summary>Bytes before the body: the type byte and the length.</summary>
    public const int HeaderLength = 5;

    /// <summary>
    /// Reads a frame header. Returns false, consuming nothing, when fewer than five bytes are
    /// buffered. Throws <see cref="ProtocolViolationException"/> when the length is below 4 or above
    /// <paramref name="maxLength"/>, before any of the body is awaited.
    /// </summary>
    /// <param name="reader">Positioned at a frame boundary; advanced past the header on success.</param>
    /// <param name="maxLength">The largest length field accepted.</param>
    /// <param name="type">The type byte.</param>
    /// <param name="length">The length field (includes its own four bytes, excludes the type byte).</param>
    public static bool TryReadHeader(ref SequenceReader<byte> reader, int maxLength, out byte type, out int length)
    {
        ReadOnlySpan<byte> unread = reader.UnreadSpan;
        if (unread.Length >= HeaderLength)
        {
            // Fast path: the header lies in one segment.
            type = unread[0];
            length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(unread.Slice(1));
            CheckLength(length, maxLength);
            reader.Advance(HeaderLength);
            return true;
        }

        return TryReadHeaderMultiSegment(ref reader, maxLength, out type, out length);
    }

    private static bool TryReadHeaderMultiSegment(ref SequenceReader<byte> reader, int maxLength, out byte type, out int length)
    {
        Span<byte> header = stackalloc byte[HeaderLength];
        if (!reader.TryCopyTo(header))
        {
            type = 0;
            length = 0;
            return false;
        }

        type = header[0];
        length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(header.Slice(1));
        CheckLength(length, maxLength);
        reader.Advance(HeaderLength);
        return true;
    }

    /// <summary>
    /// Reads one whole frame. Returns false, consuming nothing, when the frame is not fully buffered.
    /// </summary>
    /// <param name="reader">Positioned at a frame boundary; advanced past the frame on success.</param>
    /// <param name="maxLength">The largest length field accepted.</param>
    /// <param name="type">The type byte.</param>
    /// <param name="body">The body (without type and length).</param>
    public static bool TryReadFrame(ref SequenceReader<byte> reader, int maxLength, out byte type, out ReadOnlySequence<byte> body)
    {
        SequenceReader<byte> copy = reader;
        if (!TryReadHeader(ref copy, maxLength, out type, out int length) || copy.Remaining < length - 4)
        {
            body = default;
            return false;
        }

        body = copy.UnreadSequence.Slice(0, length - 4);
        copy.Advance(length - 4);
        reader = copy;
        return true;
    }

    /// <summary>Whether <paramref name="type"/> is a frontend message type of protocol 3.0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsFrontendType(byte type) => type switch
    {
        (byte)'B' or (byte)'C' or (byte)'d' or (byte)'c' or (byte)'f' or (byte)'D' or (byte)'E' or
        (byte)'H' or (byte)'F' or (byte)'P' or (byte)'p' or (byte)'Q' or (byte)'S' or (byte)'X' => true,
        _ => false,
    };

    /// <summary>Whether <paramref name="type"/> is a backend message type of protocol 3.0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsBackendType(byte type) => type switch
    {
        (byte)'R' or (byte)'K' or (byte)'2' or (byte)'3' or (byte)'C' or (byte)'d' or (byte)'c' or
        (byte)'G' or (byte)'H' or (byte)'W' or (byte)'D' or (byte)'I' or (byte)'E' or (byte)'V' or
        (byte)'v' or (byte)'n' or (byte)'N' or (byte)'A' or (byte)'t' or (byte)'S' or (byte)'1' or
        (byte)'s' or (byte)'Z' or (byte)'T' => true,
        _ => false,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CheckLength(int length, int maxLength)
    {
        if (length < 4)
        {
            ProtocolViolationException.Throw("invalid message length");
        }

        if (length > maxLength)
        {
            ProtocolViolationException.Throw("message length exceeds the configured maximum");
        }
    }
}
