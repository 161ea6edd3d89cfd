using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Wire.Ssh.Protocol;

/// <summary>
/// Builds one message payload in the SSH data types of RFC 4251 §5, in a pooled buffer that grows as needed. Used for
/// the handshake and control messages; channel data is written straight into the outgoing packet instead.
/// </summary>
internal sealed class SshWriter : IDisposable
{
    private byte[] _buffer;
    private int _length;

    public SshWriter(int capacity = 256)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(capacity);
    }

    /// <summary>The payload written so far.</summary>
    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    public int Length => _length;

    /// <summary>Starts over, keeping the buffer.</summary>
    public SshWriter Reset()
    {
        CryptographicClear();
        _length = 0;
        return this;
    }

    public SshWriter Byte(byte value)
    {
        Reserve(1)[0] = value;
        return this;
    }

    public SshWriter Boolean(bool value) => Byte(value ? (byte)1 : (byte)0);

    public SshWriter UInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(Reserve(4), value);
        return this;
    }

    public SshWriter UInt64(ulong value)
    {
        BinaryPrimitives.WriteUInt64BigEndian(Reserve(8), value);
        return this;
    }

    /// <summary>Raw bytes, no length.</summary>
    public SshWriter Raw(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(Reserve(bytes.Length));
        return this;
    }

    /// <summary>A <c>string</c> of bytes.</summary>
    public SshWriter String(ReadOnlySpan<byte> bytes)
    {
        UInt32((uint)bytes.Length);
        return Raw(bytes);
    }

    /// <summary>A <c>string</c> in UTF-8.</summary>
    public SshWriter String(string text)
    {
        int count = Encoding.UTF8.GetByteCount(text);
        UInt32((uint)count);
        Encoding.UTF8.GetBytes(text, Reserve(count));
        return this;
    }

    /// <summary>A <c>name-list</c>.</summary>
    public SshWriter NameList(IReadOnlyList<string> names) => String(string.Join(',', names));

    /// <summary>An <c>mpint</c> from a non-negative magnitude, big-endian (leading zeros dropped, 0x00 added when the high bit is set).</summary>
    public SshWriter Mpint(ReadOnlySpan<byte> magnitude)
    {
        int start = 0;
        while (start < magnitude.Length && magnitude[start] == 0)
        {
            start++;
        }
        var value = magnitude[start..];
        bool pad = !value.IsEmpty && (value[0] & 0x80) != 0;
        UInt32((uint)(value.Length + (pad ? 1 : 0)));
        if (pad)
        {
            Byte(0);
        }
        return Raw(value);
    }

    /// <summary>Room for <paramref name="count"/> bytes at the end, counted as written.</summary>
    public Span<byte> Reserve(int count)
    {
        if (_length + count > _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + count));
            _buffer.AsSpan(0, _length).CopyTo(larger);
            CryptographicClear();
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
        var span = _buffer.AsSpan(_length, count);
        _length += count;
        return span;
    }

    /// <summary>A copy of the payload.</summary>
    public byte[] ToArray() => Written.ToArray();

    // Payloads carry secrets (shared secrets hashed into keys, passwords): wipe before the buffer goes back to the pool.
    private void CryptographicClear() => System.Security.Cryptography.CryptographicOperations.ZeroMemory(_buffer.AsSpan(0, _length));

    public void Dispose()
    {
        CryptographicClear();
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _length = 0;
    }
}
