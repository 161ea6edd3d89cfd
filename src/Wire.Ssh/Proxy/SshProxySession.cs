using System.Buffers.Binary;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Transport;
using Wire.Ssh.Authentication;
using Wire.Ssh.Keys;
using Wire.Ssh.Protocol;
using Wire.Ssh.Transport;

namespace Wire.Ssh.Proxy;

/// <summary>
/// One client connection through Wire: Wire is the SSH server to the client and an SSH client to the target, and the
/// connection protocol (RFC 4254) passes between them decrypted, channel by channel, with each leg's channel numbers
/// and flow control kept apart. Data is forwarded only as the receiving peer's window allows, and a peer is granted
/// more window only as its data leaves, so a stalled reader holds at most the channel buffer per channel in Wire.
/// </summary>
internal sealed partial class SshProxySession
{
    private const uint OpenAdministrativelyProhibited = 1;
    private const uint OpenConnectFailed = 2;
    private const uint OpenResourceShortage = 4;

    private readonly SshProxyOptions _options;
    private readonly ISshUserAuthenticator _authenticator;
    private readonly ILogger _logger;
    private readonly Socket _socket;
    private readonly long _id;
    private readonly SemaphoreSlim _relay = new(1, 1);
    private readonly Dictionary<uint, SshChannel> _channels = [];
    private readonly CancellationTokenSource _ended = new();
    private uint _nextChannel;
    private SshTransport? _client;
    private SshTransport? _target;
    private WirePipe? _clientPipe;
    private WirePipe? _targetPipe;
    private SshProxyTarget? _targetOptions;
    private Task? _targetLoop;
    private string? _forceCommand;

    public SshProxySession(SshProxyOptions options, ISshUserAuthenticator authenticator, ILogger logger, Socket socket, long id)
    {
        _options = options;
        _authenticator = authenticator;
        _logger = logger;
        _socket = socket;
        _id = id;
    }

    /// <summary>Who the client is, once authenticated.</summary>
    public WireIdentity? Identity { get; private set; }

    public async Task RunAsync(CancellationToken ct)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _ended.Token);
        var token = linked.Token;
        // Packets of up to 32 KiB of channel data: 64 KiB receives keep most of them whole in one buffer segment (decrypted in
        // place, not copied out first) and halve the receive calls.
        _clientPipe = WirePipes.FromSocket(_socket, "ssh-client", receiveBytes: 64 * 1024);
        _client = new SshTransport(_clientPipe.Pipe, new SshTransportOptions { HostKeys = _options.HostKeys, RekeyBytes = _options.RekeyBytes }, isServer: true);
        try
        {
            using (var handshake = CancellationTokenSource.CreateLinkedTokenSource(token))
            {
                handshake.CancelAfter(_options.HandshakeTimeout);
                await _client.HandshakeAsync(handshake.Token).ConfigureAwait(false);
                var address = (_socket.RemoteEndPoint as System.Net.IPEndPoint)?.Address;
                var auth = await new SshUserAuthServer(_client, _authenticator, address).RunAsync(handshake.Token).ConfigureAwait(false);
                Identity = auth.Identity;
                _forceCommand = auth.ForceCommand;
                _targetOptions = _options.TargetFor(auth.UserName);
                if (_targetOptions is null)
                {
                    // The authenticator checks the target too; this is the last line.
                    throw new SshProtocolException("no such target", SshDisconnectReason.IllegalUserName);
                }
                Log.Authenticated(_logger, _id, auth.Identity.Subject, auth.Method, _targetOptions.Name);
            }
            // From here a message's work is a decryption, a lookup and an encryption: run it where the data arrives (the
            // epoll loop) instead of hopping to the thread pool per read. Handshakes and logins stay on the pool.
            _clientPipe.RunReaderInline();
            await ClientLoopAsync(token).ConfigureAwait(false);
        }
        catch (SshProtocolException e)
        {
            Log.ProtocolError(_logger, _id, "client", e.Message);
        }
        catch (SshDisconnectedException e)
        {
            Log.Ended(_logger, _id, e.Message);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            Log.Ended(_logger, _id, e.Message);
        }
        finally
        {
            await _ended.CancelAsync().ConfigureAwait(false);
            if (_target is not null)
            {
                await _target.TryDisconnectAsync(SshDisconnectReason.ByApplication, "the client left").ConfigureAwait(false);
            }
            if (_targetLoop is not null)
            {
                await _targetLoop.ConfigureAwait(false);
            }
            await CloseAsync(_target, _targetPipe).ConfigureAwait(false);
            await CloseAsync(_client, _clientPipe).ConfigureAwait(false);
        }
    }

    private static async Task CloseAsync(SshTransport? transport, WirePipe? pipe)
    {
        if (pipe is not null)
        {
            await pipe.Pipe.Output.CompleteAsync().ConfigureAwait(false);
        }
        if (transport is not null)
        {
            await transport.DisposeAsync().ConfigureAwait(false);
        }
        pipe?.Dispose();
    }

    private async Task ClientLoopAsync(CancellationToken ct)
    {
        var client = _client!;
        while (true)
        {
            var message = await client.ReceiveAsync(ct).ConfigureAwait(false);
            await _relay.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                await OnClientMessageAsync(message, ct).ConfigureAwait(false);
            }
            finally
            {
                _relay.Release();
            }
        }
    }

    private async Task TargetLoopAsync(CancellationToken ct)
    {
        var target = _target!;
        try
        {
            while (true)
            {
                var message = await target.ReceiveAsync(ct).ConfigureAwait(false);
                await _relay.WaitAsync(ct).ConfigureAwait(false);
                try
                {
                    await OnTargetMessageAsync(message, ct).ConfigureAwait(false);
                }
                finally
                {
                    _relay.Release();
                }
            }
        }
        catch (Exception e) when (e is SshProtocolException or SshDisconnectedException or OperationCanceledException or IOException
            or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            if (!_ended.IsCancellationRequested)
            {
                // The target went away (or broke the protocol): the client's connection ends with it.
                Log.TargetEnded(_logger, _id, _targetOptions!.Name, e.Message);
                await _client!.TryDisconnectAsync(SshDisconnectReason.ConnectionLost, "wire: the target closed the connection").ConfigureAwait(false);
                await _ended.CancelAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Connects and logs in to the target the first time a channel needs it. False when it cannot be reached.</summary>
    private async Task<bool> EnsureTargetAsync(CancellationToken ct)
    {
        if (_target is not null)
        {
            return true;
        }
        var target = _targetOptions!;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.ConnectTimeout);
        SshTransport? transport = null;
        WirePipe? pipe = null;
        try
        {
            var (socket, _) = await WireConnector.ConnectAsync(target.Host, target.Port, _options.ConnectTimeout, timeout.Token).ConfigureAwait(false);
            pipe = WirePipes.FromSocket(socket, "ssh-target", receiveBytes: 64 * 1024, near: _clientPipe);
            transport = new SshTransport(pipe.Pipe, new SshTransportOptions
            {
                VerifyHostKey = key => target.KnownHosts.Check(target.Host, target.Port, key) == SshHostKeyCheck.Trusted,
                RekeyBytes = _options.RekeyBytes,
            }, isServer: false);
            await transport.HandshakeAsync(timeout.Token).ConfigureAwait(false);
            await SshUserAuthClient.AuthenticateAsync(transport, target.UserName, target.PrivateKey, target.Password, timeout.Token).ConfigureAwait(false);
            pipe.RunReaderInline();
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or SshProtocolException or SshDisconnectedException
            or SshAuthenticationException or IOException && !ct.IsCancellationRequested)
        {
            Log.TargetUnreachable(_logger, _id, target.Name, e.Message);
            await CloseAsync(transport, pipe).ConfigureAwait(false);
            return false;
        }
        _target = transport;
        _targetPipe = pipe;
        _targetLoop = TargetLoopAsync(_ended.Token);
        Log.TargetConnected(_logger, _id, target.Name, transport.ServerHostKey!.Fingerprint);
        return true;
    }

    // ---- client -> target ----

    private async ValueTask OnClientMessageAsync(ReadOnlyMemory<byte> message, CancellationToken ct)
    {
        byte type = message.Span[0];
        switch (type)
        {
            case SshMessage.ChannelOpen:
                await OnClientOpenAsync(message, ct).ConfigureAwait(false);
                return;
            case SshMessage.ChannelData or SshMessage.ChannelExtendedData or SshMessage.ChannelWindowAdjust or SshMessage.ChannelEof
                or SshMessage.ChannelClose:
                await OnFlowMessageAsync(message, fromClient: true, ct).ConfigureAwait(false);
                return;
            case SshMessage.ChannelRequest or SshMessage.ChannelSuccess or SshMessage.ChannelFailure:
            {
                var channel = Channel(message.Span, fromClient: true);
                if (type == SshMessage.ChannelRequest)
                {
                    LogRequest(channel, message.Span);
                    if (_forceCommand is not null && Forced(message.Span, channel.TargetId) is { } forced)
                    {
                        await _target!.SendAsync(forced, ct).ConfigureAwait(false);
                        return;
                    }
                }
                await _target!.SendAsync(Readdressed(message.Span, channel.TargetId), ct).ConfigureAwait(false);
                return;
            }
            case SshMessage.GlobalRequest:
                await AnswerGlobalRequestAsync(_client!, message.Span, ct).ConfigureAwait(false);
                return;
            case SshMessage.RequestSuccess or SshMessage.RequestFailure:
                // Wire sends the client no global requests: nothing to match.
                return;
            default:
                await SendUnimplementedAsync(_client!, ct).ConfigureAwait(false);
                return;
        }
    }

    private async ValueTask OnClientOpenAsync(ReadOnlyMemory<byte> message, CancellationToken ct)
    {
        string channelType;
        uint sender;
        uint window;
        uint maxPacket;
        {
            var reader = new SshReader(message.Span[1..]);
            channelType = reader.ReadAscii();
            sender = reader.ReadUInt32();
            window = reader.ReadUInt32();
            maxPacket = reader.ReadUInt32();
        }
        if (channelType != "session")
        {
            await OpenFailureAsync(sender, OpenAdministrativelyProhibited, $"wire: {channelType} channels are not supported", ct).ConfigureAwait(false);
            return;
        }
        if (_channels.Count >= _options.MaxChannels)
        {
            await OpenFailureAsync(sender, OpenResourceShortage, "wire: too many channels", ct).ConfigureAwait(false);
            return;
        }
        if (!await EnsureTargetAsync(ct).ConfigureAwait(false))
        {
            await OpenFailureAsync(sender, OpenConnectFailed, $"wire: target {_targetOptions!.Name} is unreachable", ct).ConfigureAwait(false);
            return;
        }
        var channel = new SshChannel(_nextChannel++, sender, window, Math.Clamp(maxPacket, 1u, 256u * 1024), channelType);
        _channels.Add(channel.LocalId, channel);
        channel.TargetGranted = _options.ChannelBufferBytes;
        using var open = new SshWriter(64);
        open.Byte(SshMessage.ChannelOpen).String(channelType).UInt32(channel.LocalId).UInt32((uint)_options.ChannelBufferBytes)
            .UInt32((uint)_options.MaxChannelPacket);
        await _target!.SendAsync(open.ToArray(), ct).ConfigureAwait(false);
    }

    private async ValueTask OpenFailureAsync(uint recipient, uint reason, string description, CancellationToken ct)
    {
        using var failure = new SshWriter(128);
        failure.Byte(SshMessage.ChannelOpenFailure).UInt32(recipient).UInt32(reason).String(description).String("");
        await _client!.SendAsync(failure.ToArray(), ct).ConfigureAwait(false);
    }

    // ---- target -> client ----

    private async ValueTask OnTargetMessageAsync(ReadOnlyMemory<byte> message, CancellationToken ct)
    {
        byte type = message.Span[0];
        switch (type)
        {
            case SshMessage.ChannelOpenConfirmation:
            {
                var channel = Channel(message.Span, fromClient: false);
                var reader = new SshReader(message.Span[5..]);
                channel.TargetId = reader.ReadUInt32();
                uint window = reader.ReadUInt32();
                uint maxPacket = reader.ReadUInt32();
                channel.ToTarget = new SshChannel.Direction(window, Math.Clamp(maxPacket, 1u, 256u * 1024));
                channel.ClientGranted = _options.ChannelBufferBytes;
                using var confirm = new SshWriter(64);
                confirm.Byte(SshMessage.ChannelOpenConfirmation).UInt32(channel.ClientId).UInt32(channel.LocalId)
                    .UInt32((uint)_options.ChannelBufferBytes).UInt32((uint)_options.MaxChannelPacket);
                await _client!.SendAsync(confirm.ToArray(), ct).ConfigureAwait(false);
                return;
            }
            case SshMessage.ChannelOpenFailure:
            {
                var channel = Channel(message.Span, fromClient: false);
                _channels.Remove(channel.LocalId);
                await _client!.SendAsync(Readdressed(message.Span, channel.ClientId), ct).ConfigureAwait(false);
                return;
            }
            case SshMessage.ChannelData or SshMessage.ChannelExtendedData or SshMessage.ChannelWindowAdjust or SshMessage.ChannelEof
                or SshMessage.ChannelClose:
                await OnFlowMessageAsync(message, fromClient: false, ct).ConfigureAwait(false);
                return;
            case SshMessage.ChannelRequest or SshMessage.ChannelSuccess or SshMessage.ChannelFailure:
            {
                var channel = Channel(message.Span, fromClient: false);
                await _client!.SendAsync(Readdressed(message.Span, channel.ClientId), ct).ConfigureAwait(false);
                return;
            }
            case SshMessage.ChannelOpen:
            {
                // Channels the target opens (forwarded ports, X11, agent) are not part of what Wire carries yet.
                var reader = new SshReader(message.Span[1..]);
                string channelType = reader.ReadAscii();
                uint sender = reader.ReadUInt32();
                using var failure = new SshWriter(128);
                failure.Byte(SshMessage.ChannelOpenFailure).UInt32(sender).UInt32(OpenAdministrativelyProhibited)
                    .String($"wire: {channelType} channels are refused").String("");
                await _target!.SendAsync(failure.ToArray(), ct).ConfigureAwait(false);
                return;
            }
            case SshMessage.GlobalRequest:
                await AnswerGlobalRequestAsync(_target!, message.Span, ct).ConfigureAwait(false);
                return;
            case SshMessage.RequestSuccess or SshMessage.RequestFailure:
                return;
            default:
                await SendUnimplementedAsync(_target!, ct).ConfigureAwait(false);
                return;
        }
    }

    // ---- flow control ----

    /// <summary>
    /// Data, window adjustments, EOF and CLOSE, the same for either leg: what one side sends goes toward the other side
    /// as that side's window allows; what one side lets through frees window for the other.
    /// </summary>
    private async ValueTask OnFlowMessageAsync(ReadOnlyMemory<byte> message, bool fromClient, CancellationToken ct)
    {
        byte type = message.Span[0];
        var channel = Channel(message.Span, fromClient);
        // The leg the message goes on to (other) and the leg it came from (same), with their numbers for this channel.
        var (other, toOther, otherId) = fromClient ? (_target!, channel.ToTarget, channel.TargetId) : (_client!, channel.ToClient, channel.ClientId);
        var (same, toSame, sameId) = fromClient ? (_client!, channel.ToClient, channel.ClientId) : (_target!, channel.ToTarget, channel.TargetId);
        switch (type)
        {
            case SshMessage.ChannelData or SshMessage.ChannelExtendedData:
            {
                var (dataType, data) = ReadData(message, channel, fromClient);
                if (fromClient)
                {
                    channel.ClientGranted -= data.Length;
                }
                else
                {
                    channel.TargetGranted -= data.Length;
                }
                long sent = await SendDataAsync(other, toOther, otherId, dataType, data, ct).ConfigureAwait(false);
                await ConsumedAsync(channel, fromClient, sent, ct).ConfigureAwait(false);
                return;
            }
            case SshMessage.ChannelWindowAdjust:
            {
                var reader = new SshReader(message.Span[5..]);
                uint bytes = reader.ReadUInt32();
                reader.EnsureEnd();
                toSame.Window = Math.Min(toSame.Window + bytes, uint.MaxValue);
                long sent = await FlushAsync(same, toSame, sameId, channel, toClient: fromClient, ct).ConfigureAwait(false);
                await ConsumedAsync(channel, !fromClient, sent, ct).ConfigureAwait(false);
                return;
            }
            case SshMessage.ChannelEof:
                toOther.EofPending = true;
                await FlushAsync(other, toOther, otherId, channel, toClient: !fromClient, ct).ConfigureAwait(false);
                return;
            default:
                if (fromClient)
                {
                    channel.ClientClosed = true;
                }
                else
                {
                    channel.TargetClosed = true;
                }
                toOther.ClosePending = true;
                await FlushAsync(other, toOther, otherId, channel, toClient: !fromClient, ct).ConfigureAwait(false);
                MaybeForget(channel);
                return;
        }
    }

    /// <summary>Sends what the window takes now (nothing while older data waits), queues the rest; the bytes sent.</summary>
    private static async ValueTask<long> SendDataAsync(SshTransport to, SshChannel.Direction direction, uint recipient, uint? dataType,
        ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        long sent = 0;
        if (direction.Waiting.Count == 0)
        {
            while (!data.IsEmpty && direction.Window > 0)
            {
                int n = (int)Math.Min(data.Length, Math.Min(direction.Window, direction.MaxPacket));
                await to.SendChannelDataAsync(recipient, dataType, data[..n], ct).ConfigureAwait(false);
                direction.Window -= n;
                sent += n;
                data = data[n..];
            }
        }
        if (!data.IsEmpty)
        {
            direction.Waiting.Enqueue(new SshChannel.Pending(dataType, data.ToArray()));
            direction.WaitingBytes += data.Length;
        }
        return sent;
    }

    /// <summary>Sends waiting data as the window allows, then a pending EOF and CLOSE; the data bytes sent.</summary>
    private async ValueTask<long> FlushAsync(SshTransport to, SshChannel.Direction direction, uint recipient, SshChannel channel, bool toClient,
        CancellationToken ct)
    {
        long sent = 0;
        while (direction.Waiting.Count > 0 && direction.Window > 0)
        {
            var head = direction.Waiting.Peek();
            var rest = head.Data.AsMemory(direction.HeadOffset);
            int n = (int)Math.Min(rest.Length, Math.Min(direction.Window, direction.MaxPacket));
            await to.SendChannelDataAsync(recipient, head.DataType, rest[..n], ct).ConfigureAwait(false);
            direction.Window -= n;
            direction.WaitingBytes -= n;
            sent += n;
            direction.HeadOffset += n;
            if (direction.HeadOffset == head.Data.Length)
            {
                direction.Waiting.Dequeue();
                direction.HeadOffset = 0;
            }
        }
        if (direction.Waiting.Count == 0)
        {
            if (direction.EofPending)
            {
                direction.EofPending = false;
                await to.SendAsync(Simple(SshMessage.ChannelEof, recipient), ct).ConfigureAwait(false);
            }
            bool closeSent = toClient ? channel.CloseSentToClient : channel.CloseSentToTarget;
            if (direction.ClosePending && !closeSent)
            {
                direction.ClosePending = false;
                await to.SendAsync(Simple(SshMessage.ChannelClose, recipient), ct).ConfigureAwait(false);
                if (toClient)
                {
                    channel.CloseSentToClient = true;
                }
                else
                {
                    channel.CloseSentToTarget = true;
                }
            }
        }
        return sent;
    }

    /// <summary>
    /// Data from one side (the client when <paramref name="fromClient"/>) left toward the other: grant that side as much
    /// again, in steps of half the buffer.
    /// </summary>
    private async ValueTask ConsumedAsync(SshChannel channel, bool fromClient, long bytes, CancellationToken ct)
    {
        long consumed = (fromClient ? channel.ClientConsumed : channel.TargetConsumed) + bytes;
        bool closed = fromClient ? channel.ClientClosed : channel.TargetClosed;
        if (consumed >= _options.ChannelBufferBytes / 2 && !closed)
        {
            var (leg, id) = fromClient ? (_client!, channel.ClientId) : (_target!, channel.TargetId);
            await leg.SendAsync(Adjust(id, (uint)consumed), ct).ConfigureAwait(false);
            if (fromClient)
            {
                channel.ClientGranted += consumed;
            }
            else
            {
                channel.TargetGranted += consumed;
            }
            consumed = 0;
        }
        if (fromClient)
        {
            channel.ClientConsumed = consumed;
        }
        else
        {
            channel.TargetConsumed = consumed;
        }
    }

    /// <summary>A channel whose CLOSE went both ways on both legs is forgotten (its number may be reused by the peer).</summary>
    private void MaybeForget(SshChannel channel)
    {
        if (channel.ClientClosed && channel.TargetClosed && channel.CloseSentToClient && channel.CloseSentToTarget)
        {
            _channels.Remove(channel.LocalId);
        }
    }

    // ---- message helpers ----

    private SshChannel Channel(ReadOnlySpan<byte> message, bool fromClient)
    {
        if (message.Length < 5)
        {
            SshProtocolException.Throw("a channel message without a channel number");
        }
        uint local = BinaryPrimitives.ReadUInt32BigEndian(message[1..]);
        if (!_channels.TryGetValue(local, out var channel) || (fromClient ? channel.ClientClosed : channel.TargetClosed))
        {
            throw new SshProtocolException($"the {(fromClient ? "client" : "target")} used channel {local}, which is not open");
        }
        return channel;
    }

    private static (uint? DataType, ReadOnlyMemory<byte> Data) ReadData(ReadOnlyMemory<byte> message, SshChannel channel, bool fromClient)
    {
        var reader = new SshReader(message.Span[5..]);
        uint? dataType = message.Span[0] == SshMessage.ChannelExtendedData ? reader.ReadUInt32() : null;
        int start = 5 + (dataType is null ? 0 : 4) + 4;
        int length = reader.ReadString().Length;
        reader.EnsureEnd();
        long granted = fromClient ? channel.ClientGranted : channel.TargetGranted;
        if (length > granted)
        {
            SshProtocolException.Throw($"the {(fromClient ? "client" : "target")} sent more data than its window allows");
        }
        return (dataType, message.Slice(start, length));
    }

    /// <summary>
    /// Under a certificate's force-command, a request to run something (exec, shell, subsystem) runs the forced command
    /// instead, as OpenSSH's sshd does; null for other requests.
    /// </summary>
    private byte[]? Forced(ReadOnlySpan<byte> message, uint recipient)
    {
        var reader = new SshReader(message[5..]);
        string request = reader.ReadAscii();
        if (request is not ("exec" or "shell" or "subsystem"))
        {
            return null;
        }
        bool wantReply = reader.ReadBoolean();
        using var exec = new SshWriter(64 + _forceCommand!.Length);
        exec.Byte(SshMessage.ChannelRequest).UInt32(recipient).String("exec").Boolean(wantReply).String(_forceCommand);
        return exec.ToArray();
    }

    /// <summary>The same message for the other leg: only the recipient channel number changes.</summary>
    private static byte[] Readdressed(ReadOnlySpan<byte> message, uint recipient)
    {
        byte[] copy = message.ToArray();
        BinaryPrimitives.WriteUInt32BigEndian(copy.AsSpan(1), recipient);
        return copy;
    }

    private static byte[] Simple(byte type, uint recipient)
    {
        byte[] message = new byte[5];
        message[0] = type;
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(1), recipient);
        return message;
    }

    private static byte[] Adjust(uint recipient, uint bytes)
    {
        byte[] message = new byte[9];
        message[0] = SshMessage.ChannelWindowAdjust;
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(1), recipient);
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(5), bytes);
        return message;
    }

    /// <summary>Global requests (keepalives, host key announcements) are answered, not relayed: failure when a reply is wanted.</summary>
    private static ValueTask AnswerGlobalRequestAsync(SshTransport from, ReadOnlySpan<byte> message, CancellationToken ct)
    {
        var reader = new SshReader(message[1..]);
        reader.ReadAscii();
        return reader.ReadBoolean() ? from.SendAsync(new byte[] { SshMessage.RequestFailure }, ct) : ValueTask.CompletedTask;
    }

    private static async ValueTask SendUnimplementedAsync(SshTransport to, CancellationToken ct)
    {
        byte[] message = new byte[5];
        message[0] = SshMessage.Unimplemented;
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(1), to.LastReceivedSequence);
        await to.SendAsync(message, ct).ConfigureAwait(false);
    }

    private void LogRequest(SshChannel channel, ReadOnlySpan<byte> message)
    {
        if (!_logger.IsEnabled(LogLevel.Debug))
        {
            return;
        }
        var reader = new SshReader(message[5..]);
        string request = reader.ReadAscii();
        Log.ChannelRequest(_logger, _id, channel.LocalId, request);
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "ssh session {Id}: {Subject} authenticated by {Method} for target {Target}")]
        public static partial void Authenticated(ILogger logger, long id, string subject, string method, string target);

        [LoggerMessage(Level = LogLevel.Information, Message = "ssh session {Id}: logged in to target {Target} (host key {Fingerprint})")]
        public static partial void TargetConnected(ILogger logger, long id, string target, string fingerprint);

        [LoggerMessage(Level = LogLevel.Warning, Message = "ssh session {Id}: target {Target} is unreachable: {Reason}")]
        public static partial void TargetUnreachable(ILogger logger, long id, string target, string reason);

        [LoggerMessage(Level = LogLevel.Information, Message = "ssh session {Id}: target {Target} ended the connection: {Reason}")]
        public static partial void TargetEnded(ILogger logger, long id, string target, string reason);

        [LoggerMessage(Level = LogLevel.Warning, Message = "ssh session {Id}: the {Peer} broke the protocol: {Reason}")]
        public static partial void ProtocolError(ILogger logger, long id, string peer, string reason);

        [LoggerMessage(Level = LogLevel.Information, Message = "ssh session {Id} ended: {Reason}")]
        public static partial void Ended(ILogger logger, long id, string reason);

        [LoggerMessage(Level = LogLevel.Debug, Message = "ssh session {Id}: channel {Channel} request {Request}")]
        public static partial void ChannelRequest(ILogger logger, long id, uint channel, string request);
    }
}
