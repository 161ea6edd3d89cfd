using System.Buffers.Binary;
using System.Text;

namespace Wire.Ssh.Protocol;

/// <summary>
/// Reads the SSH data types of RFC 4251 §5 from one message payload. Every read checks the bytes left: a short or
/// malformed field throws <see cref="SshProtocolException"/>, never an index error, and nothing is copied (strings are
/// slices of the payload).
/// </summary>
internal ref struct SshReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    public SshReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
    }

    /// <summary>Bytes not read yet.</summary>
    public readonly int Remaining => _data.Length - _position;

    /// <summary>Bytes read so far.</summary>
    public readonly int Position => _position;

    /// <summary>The unread rest of the payload.</summary>
    public readonly ReadOnlySpan<byte> Rest => _data[_position..];

    public byte ReadByte()
    {
        if (_position >= _data.Length)
        {
            SshProtocolException.Throw("a message ended early");
        }
        return _data[_position++];
    }

    public bool ReadBoolean() => ReadByte() != 0;

    public uint ReadUInt32()
    {
        if (Remaining < 4)
        {
            SshProtocolException.Throw("a message ended early");
        }
        uint value = BinaryPrimitives.ReadUInt32BigEndian(_data[_position..]);
        _position += 4;
        return value;
    }

    public ulong ReadUInt64()
    {
        if (Remaining < 8)
        {
            SshProtocolException.Throw("a message ended early");
        }
        ulong value = BinaryPrimitives.ReadUInt64BigEndian(_data[_position..]);
        _position += 8;
        return value;
    }

    /// <summary>A <c>string</c>: a uint32 length and that many bytes (a slice of the payload).</summary>
    public ReadOnlySpan<byte> ReadString()
    {
        uint length = ReadUInt32();
        if (length > (uint)Remaining)
        {
            SshProtocolException.Throw("a string is longer than its message");
        }
        var value = _data.Slice(_position, (int)length);
        _position += (int)length;
        return value;
    }

    /// <summary>A <c>string</c> decoded as UTF-8 (user names, commands, descriptions).</summary>
    public string ReadUtf8()
    {
        var bytes = ReadString();
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>A <c>string</c> of US-ASCII (algorithm, service and request names); other bytes are refused.</summary>
    public string ReadAscii()
    {
        var bytes = ReadString();
        if (!Ascii.IsValid(bytes))
        {
            SshProtocolException.Throw("a name is not US-ASCII");
        }
        return Encoding.ASCII.GetString(bytes);
    }

    /// <summary>A <c>name-list</c>: comma-separated US-ASCII names, none empty.</summary>
    public string[] ReadNameList()
    {
        var bytes = ReadString();
        if (bytes.IsEmpty)
        {
            return [];
        }
        if (!Ascii.IsValid(bytes))
        {
            SshProtocolException.Throw("a name-list is not US-ASCII");
        }
        var names = Encoding.ASCII.GetString(bytes).Split(',');
        foreach (var name in names)
        {
            if (name.Length == 0 || name.Length > 64)
            {
                SshProtocolException.Throw("a name-list holds an empty or overlong name");
            }
        }
        return names;
    }

    /// <summary>
    /// An <c>mpint</c> that must be non-negative: its magnitude, big-endian, without leading zero bytes (empty for 0).
    /// </summary>
    public ReadOnlySpan<byte> ReadPositiveMpint()
    {
        var bytes = ReadString();
        if (bytes.IsEmpty)
        {
            return bytes;
        }
        if ((bytes[0] & 0x80) != 0)
        {
            SshProtocolException.Throw("a negative mpint where a positive one is required");
        }
        if (bytes[0] == 0 && (bytes.Length == 1 || (bytes[1] & 0x80) == 0))
        {
            SshProtocolException.Throw("an mpint with a superfluous leading zero");
        }
        return bytes[0] == 0 ? bytes[1..] : bytes;
    }

    /// <summary>Throws unless the whole payload was read.</summary>
    public readonly void EnsureEnd()
    {
        if (_position != _data.Length)
        {
            SshProtocolException.Throw("a message has trailing bytes");
        }
    }
}
