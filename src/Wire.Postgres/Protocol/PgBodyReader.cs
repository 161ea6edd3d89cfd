using System.Buffers.Binary;
using System.Text;

namespace Wire.Postgres.Protocol;

/// <summary>
/// Reads the fields of one message body (Int16, Int32, String, Byten) from a contiguous span. Every read is checked
/// against the body's end: a short or unterminated field is a <see cref="ProtocolViolationException"/>.
/// </summary>
internal ref struct PgBodyReader
{
    private readonly ReadOnlySpan<byte> _body;
    private int _position;

    public PgBodyReader(ReadOnlySpan<byte> body)
    {
        _body = body;
        _position = 0;
    }

    public readonly int Remaining => _body.Length - _position;

    public readonly int Position => _position;

    public byte ReadByte()
    {
        if (_position >= _body.Length)
        {
            ProtocolViolationException.Throw("message too short");
        }
        return _body[_position++];
    }

    public short ReadInt16()
    {
        if (Remaining < 2)
        {
            ProtocolViolationException.Throw("message too short");
        }
        short value = BinaryPrimitives.ReadInt16BigEndian(_body.Slice(_position));
        _position += 2;
        return value;
    }

    public int ReadInt32()
    {
        if (Remaining < 4)
        {
            ProtocolViolationException.Throw("message too short");
        }
        int value = BinaryPrimitives.ReadInt32BigEndian(_body.Slice(_position));
        _position += 4;
        return value;
    }

    /// <summary>A NUL-terminated string's bytes (without the NUL).</summary>
    public ReadOnlySpan<byte> ReadCStringBytes()
    {
        int end = _body.Slice(_position).IndexOf((byte)0);
        if (end < 0)
        {
            ProtocolViolationException.Throw("unterminated string in message");
        }
        var value = _body.Slice(_position, end);
        _position += end + 1;
        return value;
    }

    /// <summary>A NUL-terminated string; the empty string (the unnamed statement or portal) without allocating.</summary>
    public string ReadCString()
    {
        var bytes = ReadCStringBytes();
        return bytes.IsEmpty ? string.Empty : Encoding.UTF8.GetString(bytes);
    }

    public ReadOnlySpan<byte> ReadBytes(int count)
    {
        if (count < 0 || Remaining < count)
        {
            ProtocolViolationException.Throw("message too short");
        }
        var value = _body.Slice(_position, count);
        _position += count;
        return value;
    }

    /// <summary>Fails unless the whole body was read: trailing bytes mean the frame is not what its type says.</summary>
    public readonly void EnsureEnd()
    {
        if (_position != _body.Length)
        {
            ProtocolViolationException.Throw("message has trailing bytes");
        }
    }
}
