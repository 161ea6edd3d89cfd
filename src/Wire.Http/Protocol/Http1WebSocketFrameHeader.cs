using System.Buffers;
using System.Buffers.Binary;
using Wire.Enforcement;

namespace Wire.Http.Protocol;

/// <summary>
/// One WebSocket frame header (RFC 6455 §5.2). The payload follows the header and is streamed by the session; only
/// the header is parsed here.
/// </summary>
/// <remarks>
/// <code>
///   |F|R|R|R| opcode|M| Payload len |  Extended payload length (16/64)  | Masking-key (0/32) | Payload ...
///   |I|S|S|S|  (4)  |A|     (7)     |                                    |                    |
///   |N|V|V|V|       |S|             |                                    |                    |
/// </code>
/// Strict, because Wire removes every extension from the handshake: RSV bits set, unknown opcodes, fragmented or long
/// control frames, a client frame without a mask or a server frame with one, a non-minimal length, and a 64-bit length
/// with its top bit set are all violations.
/// </remarks>
/// <param name="Fin">The last frame of a message.</param>
/// <param name="Opcode">The opcode.</param>
/// <param name="Masked">Whether the payload is masked (client-to-server frames always are).</param>
/// <param name="MaskKey">The masking key as the four bytes appear on the wire (big-endian), when masked.</param>
/// <param name="PayloadLength">The payload length.</param>
/// <param name="HeaderLength">The header's length: 2 to 14 bytes.</param>
internal readonly record struct Http1WebSocketFrameHeader(bool Fin, Http1WebSocketOpcode Opcode, bool Masked, uint MaskKey, long PayloadLength,
    int HeaderLength)
{
    /// <summary>The longest payload of a control frame.</summary>
    public const int MaxControlPayload = 125;

    /// <summary>Whether this is a control frame (close, ping, pong).</summary>
    public bool IsControl => ((byte)Opcode & 0x8) != 0;

    /// <summary>Reads one frame header at the reader's position.</summary>
    /// <param name="reader">The input; advanced past the header only when it is complete.</param>
    /// <param name="fromClient">Whether the frame travels client to server (must be masked) or server to client (must not).</param>
    /// <param name="header">The header.</param>
    /// <returns>False when the header is not complete yet; nothing is consumed.</returns>
    /// <exception cref="ProtocolViolationException">The header breaks RFC 6455 §5.</exception>
    public static bool TryRead(ref SequenceReader<byte> reader, bool fromClient, out Http1WebSocketFrameHeader header)
    {
        header = default;
        Span<byte> bytes = stackalloc byte[14];
        if (!reader.TryCopyTo(bytes[..2]))
        {
            return false;
        }
        byte first = bytes[0];
        byte second = bytes[1];
        bool fin = (first & 0x80) != 0;
        var opcode = (Http1WebSocketOpcode)(first & 0x0F);
        bool masked = (second & 0x80) != 0;
        int length7 = second & 0x7F;
        if ((first & 0x70) != 0)
        {
            ProtocolViolationException.Throw("a WebSocket frame sets an RSV bit, but no extension was agreed");
        }
        if (opcode is not (Http1WebSocketOpcode.Continuation or Http1WebSocketOpcode.Text or Http1WebSocketOpcode.Binary
            or Http1WebSocketOpcode.Close or Http1WebSocketOpcode.Ping or Http1WebSocketOpcode.Pong))
        {
            ProtocolViolationException.Throw("a WebSocket frame has an unknown opcode");
        }
        if (masked != fromClient)
        {
            ProtocolViolationException.Throw(fromClient ? "a client WebSocket frame is not masked" : "a server WebSocket frame is masked");
        }
        bool control = ((byte)opcode & 0x8) != 0;
        if (control && (!fin || length7 > MaxControlPayload))
        {
            ProtocolViolationException.Throw("a WebSocket control frame is fragmented or longer than 125 bytes");
        }

        int lengthBytes = length7 switch { 126 => 2, 127 => 8, _ => 0 };
        int headerLength = 2 + lengthBytes + (masked ? 4 : 0);
        if (!reader.TryCopyTo(bytes[..headerLength]))
        {
            return false;
        }
        long length = length7;
        if (lengthBytes == 2)
        {
            length = BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]);
            if (length < 126)
            {
                ProtocolViolationException.Throw("a WebSocket frame length is not minimally encoded");
            }
        }
        else if (lengthBytes == 8)
        {
            ulong wide = BinaryPrimitives.ReadUInt64BigEndian(bytes[2..]);
            if (wide > long.MaxValue)
            {
                ProtocolViolationException.Throw("a WebSocket frame length has its top bit set");
            }
            length = (long)wide;
            if (length <= ushort.MaxValue)
            {
                ProtocolViolationException.Throw("a WebSocket frame length is not minimally encoded");
            }
        }
        uint mask = masked ? BinaryPrimitives.ReadUInt32BigEndian(bytes[(2 + lengthBytes)..]) : 0;
        reader.Advance(headerLength);
        header = new Http1WebSocketFrameHeader(fin, opcode, masked, mask, length, headerLength);
        return true;
    }

    /// <summary>
    /// XORs <paramref name="payload"/> with the masking key in place (masking and unmasking are the same operation),
    /// starting <paramref name="offset"/> bytes into the frame's payload.
    /// </summary>
    /// <param name="mask">The key as <see cref="MaskKey"/> holds it.</param>
    /// <param name="offset">The payload offset of <paramref name="payload"/>'s first byte (payloads arrive in pieces).</param>
    /// <param name="payload">The bytes to mask or unmask.</param>
    public static void ApplyMask(uint mask, long offset, Span<byte> payload)
    {
        Span<byte> key = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(key, mask);
        int phase = (int)(offset & 3);
        for (int i = 0; i < payload.Length; i++)
        {
            payload[i] ^= key[(phase + i) & 3];
        }
    }
}
