using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using Microsoft.Extensions.ObjectPool;
using Wire.Enforcement;
using Wire.Postgres.Protocol;

namespace Wire.Postgres.Proxy;

/// <summary>
/// Message I/O for the handshake phase, which runs on plain streams (before the session's pipes
/// exist). Reads exactly one message at a time and never reads ahead, so no byte meant for the pipes
/// (or for a TLS handshake that follows) is consumed here. Allocation here is per connection, not per
/// frame, and the buffers are pooled: they are wiped when returned, since they held a token or a
/// password.
/// </summary>
internal sealed class PgHandshakeIO : IResettable, IDisposable
{
    private const int MaxPooledBufferBytes = 64 * 1024;
    // Not DefaultObjectPoolProvider.Create: for an IDisposable type it builds a pool that disposes what it cannot keep,
    // and Dispose here returns to that pool, so a full pool recursed until the stack overflowed (seen with eight
    // clients and catalog lookups at once). This pool drops what it cannot keep; TryReset has wiped it first.
    private static readonly ObjectPool<PgHandshakeIO> Pool = new DefaultObjectPool<PgHandshakeIO>(new DefaultPooledObjectPolicy<PgHandshakeIO>());

    private readonly ArrayBufferWriter<byte> _out = new(256);
    private byte[] _buffer = new byte[512];
    private Stream _stream = Stream.Null;

    /// <summary>Takes a pooled instance for <paramref name="stream"/>; dispose it to give it back.</summary>
    public static PgHandshakeIO Rent(Stream stream)
    {
        var io = Pool.Get();
        io._stream = stream;
        return io;
    }

    /// <summary>The stream messages are read from and written to; replaced when TLS starts.</summary>
    public Stream Stream
    {
        get => _stream;
        set => _stream = value;
    }

    /// <summary>Returns the instance to the pool.</summary>
    public void Dispose() => Pool.Return(this);

    /// <summary>Wipes what the buffers held; oversized buffers are not kept.</summary>
    public bool TryReset()
    {
        CryptographicOperations.ZeroMemory(_buffer);
        _out.Clear();
        _stream = Stream.Null;
        Body = default;
        return _buffer.Length <= MaxPooledBufferBytes;
    }

    /// <summary>The body of the last message read; valid until the next read.</summary>
    public ReadOnlyMemory<byte> Body { get; private set; }

    /// <summary>Reads an untagged startup packet: returns its code; <see cref="Body"/> holds what follows the code.</summary>
    public async ValueTask<int> ReadStartupPacketAsync(CancellationToken ct)
    {
        await _stream.ReadExactlyAsync(_buffer.AsMemory(0, 8), ct).ConfigureAwait(false);
        int length = BinaryPrimitives.ReadInt32BigEndian(_buffer);
        int code = BinaryPrimitives.ReadInt32BigEndian(_buffer.AsSpan(4));
        if (length < 8 || length > PgStartupCode.MaxStartupPacketLength)
        {
            ProtocolViolationException.Throw("invalid startup packet length");
        }

        EnsureCapacity(length - 8);
        await _stream.ReadExactlyAsync(_buffer.AsMemory(0, length - 8), ct).ConfigureAwait(false);
        Body = _buffer.AsMemory(0, length - 8);
        return code;
    }

    /// <summary>Reads one tagged message of at most <paramref name="maxLength"/>; returns its type; <see cref="Body"/> holds the body.</summary>
    public async ValueTask<byte> ReadMessageAsync(int maxLength, CancellationToken ct)
    {
        await _stream.ReadExactlyAsync(_buffer.AsMemory(0, 5), ct).ConfigureAwait(false);
        byte type = _buffer[0];
        int length = BinaryPrimitives.ReadInt32BigEndian(_buffer.AsSpan(1));
        if (length < 4)
        {
            ProtocolViolationException.Throw("invalid message length");
        }

        if (length > maxLength)
        {
            ProtocolViolationException.Throw("message length exceeds the configured maximum");
        }

        EnsureCapacity(length - 4);
        await _stream.ReadExactlyAsync(_buffer.AsMemory(0, length - 4), ct).ConfigureAwait(false);
        Body = _buffer.AsMemory(0, length - 4);
        return type;
    }

    /// <summary>A buffer to write messages into; sent by <see cref="FlushAsync"/>.</summary>
    public IBufferWriter<byte> Output => _out;

    /// <summary>Sends what was written to <see cref="Output"/>.</summary>
    public async ValueTask FlushAsync(CancellationToken ct)
    {
        if (_out.WrittenCount > 0)
        {
            await _stream.WriteAsync(_out.WrittenMemory, ct).ConfigureAwait(false);
            _out.ResetWrittenCount();
        }

        await _stream.FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Writes a single raw byte (the answer to SSLRequest/GSSENCRequest) and sends it.</summary>
    public async ValueTask WriteByteAsync(byte value, CancellationToken ct)
    {
        _out.GetSpan(1)[0] = value;
        _out.Advance(1);
        await FlushAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Sends a FATAL ErrorResponse, ignoring a peer that is already gone.</summary>
    public async ValueTask TrySendFatalAsync(string sqlState, string message, CancellationToken ct)
    {
        try
        {
            PgMessageWriter.WriteErrorResponse(_out, "FATAL", sqlState, message);
            await FlushAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or System.Net.Sockets.SocketException)
        {
            // The peer vanished; the caller closes the connection anyway.
        }
    }

    private void EnsureCapacity(int size)
    {
        if (_buffer.Length < size)
        {
            _buffer = new byte[Math.Max(size, _buffer.Length * 2)];
        }
    }
}
