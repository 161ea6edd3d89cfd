using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Wire.Ssh.Keys;
using Wire.Ssh.Protocol;

namespace Wire.Ssh.Transport;

/// <summary>
/// The SSH transport layer (RFC 4253) of one connection, in either role over the same code: version exchange, the
/// binary packet protocol, key exchange (curve25519-sha256, ecdh-sha2-nistp256) with strict key exchange
/// (kex-strict-*-v00@openssh.com) and ext-info, and re-exchanges started by either side at any time. Above it, the
/// caller sees only messages of the higher layers (<see cref="ReceiveAsync"/>) and sends them with
/// <see cref="SendAsync"/>; while a key exchange is under way its messages wait (queued) and go out under the new keys.
/// </summary>
/// <remarks>
/// One reader: <see cref="HandshakeAsync"/> and then <see cref="ReceiveAsync"/> are called by one loop, never at once.
/// Writers may be several (the reader's own replies, the other leg of a relay): packets are written one at a time under
/// a lock, and a flush never overlaps another.
/// </remarks>
internal sealed partial class SshTransport : IAsyncDisposable
{
    private const int MaxVersionLine = 255;
    private const int MaxPreambleLines = 1024;

    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly SshTransportOptions _options;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    // Receiving.
    private ReadOnlySequence<byte> _buffer;
    private SequencePosition _consumed;
    private bool _haveBuffer;
    private bool _inputCompleted;
    private byte[] _scratch = [];
    private uint _receiveSequence;
    private SshPacketProtection _incoming = SshPacketProtection.None.Instance;

    // Sending (under _writeLock).
    private uint _sendSequence;
    private SshPacketProtection _outgoing = SshPacketProtection.None.Instance;
    private readonly Queue<byte[]> _held = new();
    private readonly byte[] _channelHead = new byte[13];
    private long _heldBytes;
    private bool _flushPending;

    // Key exchange state.
    private SshKexInit? _localKexInit;
    private SshKexInit? _peerKexInit;
    private SshNegotiated? _negotiated;
    private SshKeyExchange? _exchange;
    private SshPacketProtection? _nextIncoming;
    private bool _ignoreGuessedPacket;
    private bool _firstKexDone;
    private bool _strict;
    private bool _peerWantsExtInfo;
    private SshPublicKey? _serverHostKey;
    private long _bytesSinceKex;
    private long _packetsSinceKex;
    private volatile bool _kexActive;
    private bool _sentNewKeys;

    public SshTransport(IDuplexPipe pipe, SshTransportOptions options, bool isServer)
    {
        _input = pipe.Input;
        _output = pipe.Output;
        _options = options;
        IsServer = isServer;
        if (isServer && options.HostKeys.Count == 0)
        {
            throw new ArgumentException("the server role needs at least one host key", nameof(options));
        }
        if (!isServer && options.VerifyHostKey is null)
        {
            throw new ArgumentException("the client role needs a host key check", nameof(options));
        }
    }

    public bool IsServer { get; }

    /// <summary>This side's identification string, without CR LF.</summary>
    public string LocalVersion => "SSH-2.0-" + _options.SoftwareVersion;

    /// <summary>The peer's identification string, without CR LF (after the handshake).</summary>
    public string PeerVersion { get; private set; } = "";

    /// <summary>H of the first key exchange: the session identifier (RFC 4253 §7.2).</summary>
    public byte[] SessionId { get; private set; } = [];

    /// <summary>The algorithms of the last key exchange.</summary>
    public SshNegotiated? Negotiated => _negotiated;

    /// <summary>Whether strict key exchange is in force (both sides offered it).</summary>
    public bool StrictKeyExchange => _strict;

    /// <summary>The server's host key (client role), or Wire's own host key used (server role).</summary>
    public SshPublicKey? ServerHostKey => _serverHostKey;

    /// <summary>The client role: the signature algorithms the server accepts for user authentication (ext-info server-sig-algs), if it said.</summary>
    public IReadOnlyList<string>? ServerSignatureAlgorithms { get; private set; }

    /// <summary>How many key exchanges have completed (the first included).</summary>
    public int KeyExchangeCount { get; private set; }

    /// <summary>The sequence number of the last packet received (for SSH_MSG_UNIMPLEMENTED).</summary>
    public uint LastReceivedSequence { get; private set; }

    private string ClientVersion => IsServer ? PeerVersion : LocalVersion;

    private string ServerVersion => IsServer ? LocalVersion : PeerVersion;

    /// <summary>
    /// Version exchange and the first key exchange. Afterwards the connection is encrypted and <see cref="SessionId"/>
    /// is set. A peer that breaks the protocol gets SSH_MSG_DISCONNECT and <see cref="SshProtocolException"/> is thrown.
    /// </summary>
    public async Task HandshakeAsync(CancellationToken ct)
    {
        try
        {
            _output.Write(Encoding.ASCII.GetBytes(LocalVersion + "\r\n"));
            await _output.FlushAsync(ct).ConfigureAwait(false);
            PeerVersion = await ReadVersionAsync(ct).ConfigureAwait(false);
            await StartKeyExchangeAsync(ct).ConfigureAwait(false);
            while (!_firstKexDone)
            {
                var payload = await ReadPacketAsync(ct).ConfigureAwait(false);
                await HandleTransportMessageAsync(payload, ct).ConfigureAwait(false);
            }
        }
        catch (SshProtocolException e)
        {
            await TryDisconnectAsync(e.Reason, e.Message).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// The next message of a higher layer (type 5 and up, except key exchange messages): key re-exchanges, IGNORE,
    /// DEBUG and UNIMPLEMENTED are handled here. The payload is valid until the next call. A peer's DISCONNECT throws
    /// <see cref="SshDisconnectedException"/>; the end of the stream throws <see cref="SshDisconnectedException"/> too.
    /// </summary>
    public async ValueTask<ReadOnlyMemory<byte>> ReceiveAsync(CancellationToken ct)
    {
        try
        {
            while (true)
            {
                var payload = await ReadPacketAsync(ct).ConfigureAwait(false);
                byte type = payload.Span[0];
                if (RekeyDue)
                {
                    await RekeyAsync(ct).ConfigureAwait(false);
                }
                if (SshMessage.IsKeyExchange(type) || SshMessage.IsGeneric(type) || _peerKexInit is not null)
                {
                    await HandleTransportMessageAsync(payload, ct).ConfigureAwait(false);
                    continue;
                }
                if (type == SshMessage.ExtInfo)
                {
                    OnExtInfo(payload.Span);
                    continue;
                }
                return payload;
            }
        }
        catch (SshProtocolException e)
        {
            await TryDisconnectAsync(e.Reason, e.Message).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Sends one higher-layer message (its payload, type byte first). During a key exchange this side started, the
    /// message waits and goes out under the new keys, in order.
    /// </summary>
    public ValueTask SendAsync(ReadOnlyMemory<byte> payload, CancellationToken ct) => SendCoreAsync(payload, channel: null, dataType: null, ct);

    /// <summary>
    /// Sends SSH_MSG_CHANNEL_DATA (or, with <paramref name="dataType"/>, CHANNEL_EXTENDED_DATA) of <paramref name="data"/>
    /// to channel <paramref name="recipient"/>: the data is copied once, into the packet, and encrypted there.
    /// </summary>
    public ValueTask SendChannelDataAsync(uint recipient, uint? dataType, ReadOnlyMemory<byte> data, CancellationToken ct) =>
        SendCoreAsync(data, recipient, dataType, ct);

    /// <summary>
    /// One higher-layer message: <paramref name="body"/> whole, or, for a <paramref name="channel"/>, the data of a
    /// channel data message whose head is built here (in one buffer per transport, under the lock).
    /// </summary>
    private async ValueTask SendCoreAsync(ReadOnlyMemory<byte> body, uint? channel, uint? dataType, CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            int headLength = channel is { } recipient ? WriteChannelDataHead(_channelHead, recipient, dataType, body.Length) : 0;
            if (_localKexInit is not null)
            {
                Hold([.. _channelHead.AsSpan(0, headLength), .. body.Span]);
                return;
            }
            WritePacket(_channelHead.AsSpan(0, headLength), body.Span);
            if (RekeyDue)
            {
                // Start a re-exchange; what follows is held until it completes.
                SendKexInit();
            }
            await FlushLockedAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Keeps a message for after the key exchange (caller holds the write lock), within the limit.</summary>
    private void Hold(byte[] message)
    {
        _heldBytes += message.Length;
        if (_heldBytes > _options.MaxHeldBytes)
        {
            SshProtocolException.Throw($"the {(IsServer ? "client" : "server")} did not finish a key exchange while {_heldBytes >> 20} MiB waited for it");
        }
        _held.Enqueue(message);
    }

    private static int WriteChannelDataHead(Span<byte> head, uint recipient, uint? dataType, int length)
    {
        head[0] = dataType is null ? SshMessage.ChannelData : SshMessage.ChannelExtendedData;
        BinaryPrimitives.WriteUInt32BigEndian(head[1..], recipient);
        int offset = 5;
        if (dataType is { } type)
        {
            BinaryPrimitives.WriteUInt32BigEndian(head[offset..], type);
            offset += 4;
        }
        BinaryPrimitives.WriteUInt32BigEndian(head[offset..], (uint)length);
        return offset + 4;
    }

    // Past the byte limit, or far enough into AES-GCM's invocation counter and the sequence numbers to start over.
    private bool RekeyDue => _firstKexDone && !_kexActive
        && (Interlocked.Read(ref _bytesSinceKex) >= _options.RekeyBytes || Interlocked.Read(ref _packetsSinceKex) >= 1L << 28);

    /// <summary>Starts a key re-exchange now (unless one is under way).</summary>
    public async Task RekeyAsync(CancellationToken ct)
    {
        await _writeLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (!_kexActive && _firstKexDone)
            {
                SendKexInit();
                await FlushLockedAsync(ct).ConfigureAwait(false);
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Sends SSH_MSG_DISCONNECT (best effort: the connection may already be gone).</summary>
    public async Task TryDisconnectAsync(SshDisconnectReason reason, string description)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _writeLock.WaitAsync(timeout.Token).ConfigureAwait(false);
            try
            {
                using var writer = new SshWriter();
                writer.Byte(SshMessage.Disconnect).UInt32((uint)reason).String(description).String("");
                WritePacket(writer.Written);
                await _output.FlushAsync(timeout.Token).ConfigureAwait(false);
            }
            finally
            {
                _writeLock.Release();
            }
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or IOException or ObjectDisposedException)
        {
            // The peer is gone or not reading: nothing more to tell it.
        }
    }

    // ---- version exchange ----

    private async Task<string> ReadVersionAsync(CancellationToken ct)
    {
        for (int lines = 0; lines < MaxPreambleLines; lines++)
        {
            string line = await ReadLineAsync(ct).ConfigureAwait(false);
            if (line.StartsWith("SSH-", StringComparison.Ordinal))
            {
                if (!line.StartsWith("SSH-2.0-", StringComparison.Ordinal) && !line.StartsWith("SSH-1.99-", StringComparison.Ordinal))
                {
                    SshProtocolException.Throw("the peer speaks an SSH protocol version other than 2.0", SshDisconnectReason.ProtocolVersionNotSupported);
                }
                var software = line.AsSpan(line.IndexOf('-', 4) + 1);
                int space = software.IndexOf(' ');
                if ((space >= 0 ? software[..space] : software).IsEmpty)
                {
                    SshProtocolException.Throw("the peer's identification string has no software version");
                }
                return line;
            }
            if (IsServer)
            {
                // RFC 4253 §4.2: only servers may send other lines first.
                SshProtocolException.Throw("the client did not start with an SSH identification string");
            }
        }
        SshProtocolException.Throw("the server sent too many lines before its identification string");
        return "";
    }

    /// <summary>One line ending in LF (CR LF or a bare LF), at most 255 bytes, printable US-ASCII.</summary>
    private async Task<string> ReadLineAsync(CancellationToken ct)
    {
        while (true)
        {
            var result = await _input.ReadAsync(ct).ConfigureAwait(false);
            var buffer = result.Buffer;
            var newline = buffer.PositionOf((byte)'\n');
            if (newline is { } end)
            {
                var lineBytes = buffer.Slice(0, end);
                if (lineBytes.Length > MaxVersionLine)
                {
                    _input.AdvanceTo(buffer.Start);
                    SshProtocolException.Throw("an identification line is longer than 255 bytes");
                }
                var bytes = lineBytes.ToArray();
                _input.AdvanceTo(buffer.GetPosition(1, end));
                int length = bytes.Length > 0 && bytes[^1] == '\r' ? bytes.Length - 1 : bytes.Length;
                foreach (byte b in bytes.AsSpan(0, length))
                {
                    if (b is < 0x20 or > 0x7e)
                    {
                        SshProtocolException.Throw("an identification line holds control or non-ASCII bytes");
                    }
                }
                return Encoding.ASCII.GetString(bytes, 0, length);
            }
            if (buffer.Length > MaxVersionLine)
            {
                _input.AdvanceTo(buffer.Start);
                SshProtocolException.Throw("an identification line is longer than 255 bytes");
            }
            if (result.IsCompleted)
            {
                _input.AdvanceTo(buffer.Start, buffer.End);
                throw new SshDisconnectedException("the peer closed the connection during the version exchange", null);
            }
            _input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    // ---- binary packet protocol ----

    /// <summary>
    /// The next packet's payload, decrypted in place in the receive buffer when the packet lies in one segment (else in
    /// a scratch buffer). Valid until the next call.
    /// </summary>
    private async ValueTask<ReadOnlyMemory<byte>> ReadPacketAsync(CancellationToken ct)
    {
        while (true)
        {
            if (_haveBuffer)
            {
                var rest = _buffer.Slice(_consumed);
                if (TryTakePacket(rest, out var payload, out var next))
                {
                    _consumed = next;
                    return payload;
                }
                _input.AdvanceTo(_consumed, _buffer.End);
                _haveBuffer = false;
                if (_inputCompleted)
                {
                    throw new SshDisconnectedException(rest.IsEmpty ? "the peer closed the connection" : "the peer closed the connection inside a packet", null);
                }
            }
            var result = await _input.ReadAsync(ct).ConfigureAwait(false);
            if (result.IsCanceled)
            {
                _input.AdvanceTo(result.Buffer.Start);
                throw new OperationCanceledException("the read was cancelled");
            }
            _buffer = result.Buffer;
            _consumed = _buffer.Start;
            _haveBuffer = true;
            _inputCompleted = result.IsCompleted;
        }
    }

    private bool TryTakePacket(ReadOnlySequence<byte> rest, out ReadOnlyMemory<byte> payload, out SequencePosition next)
    {
        payload = default;
        next = default;
        if (rest.Length < 4)
        {
            return false;
        }
        Span<byte> head = stackalloc byte[4];
        rest.Slice(0, 4).CopyTo(head);
        uint length = BinaryPrimitives.ReadUInt32BigEndian(head);
        var protection = _incoming;
        int block = protection.BlockSize;
        if (length < 5 || length > (uint)_options.MaxPacketLength)
        {
            SshProtocolException.Throw($"a packet length of {length} bytes is outside 5..{_options.MaxPacketLength}");
        }
        if ((length + (protection.AlignsLengthField ? 4u : 0u)) % (uint)block != 0)
        {
            SshProtocolException.Throw("a packet length is not a multiple of the cipher block size");
        }
        int total = 4 + (int)length + protection.MacLength;
        if (rest.Length < total)
        {
            return false;
        }

        var packetSequence = rest.Slice(0, total);
        Memory<byte> packet;
        if (packetSequence.IsSingleSegment)
        {
            // The pipe's own memory: decrypted in place, no copy.
            packet = MemoryMarshal.AsMemory(packetSequence.First);
        }
        else
        {
            if (_scratch.Length < total)
            {
                ReturnScratch();
                _scratch = ArrayPool<byte>.Shared.Rent(total);
            }
            packetSequence.CopyTo(_scratch);
            packet = _scratch.AsMemory(0, total);
        }

        uint sequence = _receiveSequence++;
        if (!protection.Open(packet.Span, sequence))
        {
            SshProtocolException.Throw("a packet's MAC does not verify", SshDisconnectReason.MacError);
        }
        if (_receiveSequence == 0 && !_firstKexDone)
        {
            SshProtocolException.Throw("the sequence number wrapped during the first key exchange");
        }
        int padding = packet.Span[4];
        int payloadLength = (int)length - padding - 1;
        if (padding < 4 || payloadLength < 1)
        {
            SshProtocolException.Throw("a packet's padding is shorter than 4 bytes or leaves no payload");
        }
        LastReceivedSequence = sequence;
        Interlocked.Add(ref _bytesSinceKex, total);
        Interlocked.Increment(ref _packetsSinceKex);
        payload = packet.Slice(5, payloadLength);
        next = rest.GetPosition(total);
        return true;
    }

    /// <summary>Frames, pads, encrypts and MACs one payload into the output (caller holds the write lock).</summary>
    private void WritePacket(ReadOnlySpan<byte> payload) => WritePacket(payload, default);

    /// <summary>As above for a payload in two parts (a message head and its data), copied once, into the packet.</summary>
    private void WritePacket(ReadOnlySpan<byte> head, ReadOnlySpan<byte> body)
    {
        var protection = _outgoing;
        int block = protection.BlockSize;
        int payloadLength = head.Length + body.Length;
        int unpadded = 1 + payloadLength + (protection.AlignsLengthField ? 4 : 0);
        int padding = block - unpadded % block;
        if (padding < 4)
        {
            padding += block;
        }
        int length = 1 + payloadLength + padding;
        int total = 4 + length + protection.MacLength;
        var packet = _output.GetSpan(total)[..total];
        BinaryPrimitives.WriteUInt32BigEndian(packet, (uint)length);
        packet[4] = (byte)padding;
        head.CopyTo(packet[5..]);
        body.CopyTo(packet[(5 + head.Length)..]);
        RandomNumberGenerator.Fill(packet.Slice(5 + payloadLength, padding));
        uint sequence = _sendSequence++;
        if (_sendSequence == 0 && !_firstKexDone)
        {
            SshProtocolException.Throw("the sequence number wrapped during the first key exchange");
        }
        protection.Seal(packet, sequence);
        _output.Advance(total);
        Interlocked.Add(ref _bytesSinceKex, total);
        Interlocked.Increment(ref _packetsSinceKex);
        _flushPending = true;
    }

    private async ValueTask FlushLockedAsync(CancellationToken ct)
    {
        if (_flushPending)
        {
            _flushPending = false;
            await _output.FlushAsync(ct).ConfigureAwait(false);
        }
    }

    private void ReturnScratch()
    {
        if (_scratch.Length > 0)
        {
            CryptographicOperations.ZeroMemory(_scratch);
            ArrayPool<byte>.Shared.Return(_scratch);
            _scratch = [];
        }
    }

    public async ValueTask DisposeAsync()
    {
        // A writer stuck on a peer that stopped reading must not keep the keys alive forever: after a moment they go anyway
        // (that writer then fails with ObjectDisposedException).
        bool locked = await _writeLock.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        try
        {
            _incoming.Dispose();
            _outgoing.Dispose();
            _nextIncoming?.Dispose();
            _exchange?.Dispose();
            ReturnScratch();
        }
        finally
        {
            if (locked)
            {
                _writeLock.Release();
            }
        }
    }
}

/// <summary>The connection ended: the peer sent SSH_MSG_DISCONNECT or closed the stream.</summary>
public sealed class SshDisconnectedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SshDisconnectedException(string message, SshDisconnectReason? reason)
        : base(message)
    {
        Reason = reason;
    }

    /// <summary>The peer's reason code, when it sent SSH_MSG_DISCONNECT.</summary>
    public SshDisconnectReason? Reason { get; }
}
