using System.IO.Pipelines;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Wire.Enforcement;
using Wire.Enforcement.Diagnostics;
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
    private static readonly KeyValuePair<string, object?> ProtocolTag = new("network.protocol.name", "ssh");
    private static readonly KeyValuePair<string, object?> ToUpstreamTag = new("wire.direction", "to_upstream");
    private static readonly KeyValuePair<string, object?> ToClientTag = new("wire.direction", "to_client");

    private readonly SshProxyOptions _options;
    private readonly ISshUserAuthenticator _authenticator;
    private readonly ILogger _logger;
    /// <summary>The client's socket; null when the host brought its own pipes.</summary>
    private readonly Socket? _socket;

    /// <summary>The connection to the target the host brought, used by the first channel that needs the target; null dials.</summary>
    private IDuplexPipe? _upstreamTransport;
    /// <summary>The client: the socket's peer, or the one a PROXY protocol header declared.</summary>
    private readonly System.Net.IPEndPoint? _clientEndPoint;
    private readonly long _id;
    private readonly SemaphoreSlim _relay = new(1, 1);
    private readonly CancellationTokenSource _ended = new();
    /// <summary>This connection's count against the listener's limits, in total and (once logged in) per identity.</summary>
    private readonly ConnectionLease _lease;

    /// <summary>Watches for a session that carries nothing (<c>limits.idleTimeout</c>); null without an idle timeout.</summary>
    private IdleWatch? _idle;
    private Task? _idling;
    private SshTransport? _client;
    private SshTransport? _target;
    private WirePipe? _clientPipe;
    private WirePipe? _targetPipe;
    private SshProxyTarget? _targetOptions;
    private Task? _targetLoop;
    private string? _forceCommand;

    /// <summary>
    /// When the message being handled was received (a <see cref="Stopwatch"/> timestamp), for <c>wire.proxy.added_latency</c>;
    /// 0 when not measured, and for what runs later (replays after a review, the mask flush timer). Under <see cref="_relay"/>.
    /// </summary>
    private long _receivedAt;

    /// <summary>A session over pipes a host brought (<see cref="SshProxyServer.RunAsync"/>).</summary>
    public SshProxySession(SshProxyOptions options, ISshUserAuthenticator authenticator, WireEnforcement? enforcement, ILogger logger,
        IDuplexPipe client, IDuplexPipe upstream, System.Net.IPEndPoint? clientEndPoint, long id, ConnectionLease lease)
        : this(options, authenticator, enforcement, logger, socket: null, clientEndPoint, id, lease)
    {
        _clientPipe = WirePipes.FromPipe(client);
        _upstreamTransport = upstream;
    }

    public SshProxySession(SshProxyOptions options, ISshUserAuthenticator authenticator, WireEnforcement? enforcement, ILogger logger, Socket? socket,
        System.Net.IPEndPoint? client, long id, ConnectionLease? lease = null)
    {
        _clientEndPoint = client;
        _lease = lease ?? new ConnectionGate(options.Connections, "ssh").Enter();
        _options = options;
        _enforcement = enforcement;
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
        _clientPipe ??= WirePipes.FromSocket(_socket!, "ssh-client", receiveBytes: 64 * 1024);
        _client = new SshTransport(_clientPipe.Pipe, new SshTransportOptions
        {
            HostKeys = _options.HostKeys,
            RekeyBytes = _options.RekeyBytes,
            MaxPacketLength = _options.MaxPacketBytes,
        }, isServer: true);
        try
        {
            using (var handshake = CancellationTokenSource.CreateLinkedTokenSource(token))
            {
                handshake.CancelAfter(_options.HandshakeTimeout);
                await _client.HandshakeAsync(handshake.Token).ConfigureAwait(false);
                var address = _clientEndPoint?.Address;
                var auth = await new SshUserAuthServer(_client, _authenticator, address, admit: Admit).RunAsync(handshake.Token).ConfigureAwait(false);
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
            StartLiveSession();
            StartEnforcement();
            if (_options.Connections.IdleTimeout > TimeSpan.Zero)
            {
                _idle = new IdleWatch(_options.Connections.IdleTimeout, () => _idling = EndIdleAsync());
            }
            await AnnounceHostKeysAsync(token).ConfigureAwait(false);
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
            _idle?.Dispose();
            if (_idling is { } idling)
            {
                await idling.ConfigureAwait(false);
            }
            _lease.Dispose();
            await EndLiveSessionAsync().ConfigureAwait(false);
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
            // A connection to the target the host brought but no channel needed: ended too, so the host's transport closes.
            if (Interlocked.Exchange(ref _upstreamTransport, null) is { } unused)
            {
                WirePipes.FromPipe(unused).Dispose();
            }
            foreach (var channel in _channels.Values)
            {
                ReportMasked(channel);
            }
            await CompleteRecordingAsync(_live?.TerminationReason is { } terminated
                ? "session " + terminated
                : _idle is { Fired: true } ? "session ended: " + IdleReason : "the connection ended").ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Notes activity for the idle timeout, unless the message only keeps the connection alive: IGNORE, DEBUG, global
    /// requests and their replies, channel request replies, and <c>keepalive@…</c> channel requests (sshd's
    /// ClientAliveInterval, ssh's ServerAliveInterval). Otherwise keepalives would keep every session busy forever.
    /// </summary>
    private void TouchUnlessKeepalive(ReadOnlySpan<byte> message)
    {
        if (_idle is null || message.IsEmpty)
        {
            return;
        }
        switch (message[0])
        {
            case SshMessage.Ignore or SshMessage.Debug or SshMessage.GlobalRequest or SshMessage.RequestSuccess or SshMessage.RequestFailure
                or SshMessage.ChannelSuccess or SshMessage.ChannelFailure:
                return;
            case SshMessage.ChannelRequest when message.Length >= 9
                && message.Slice(9).StartsWith("keepalive@"u8):
                return;
        }
        _idle.Touch();
    }

    private string IdleReason => $"idle for more than {_options.Connections.IdleTimeout:c} (ssh.limits.idleTimeout)";

    /// <summary>The session carried nothing for its idle timeout: tells the client why and ends the connection; never throws.</summary>
    private async Task EndIdleAsync()
    {
        await Task.Yield();
        Log.IdleEnded(_logger, _id, Identity?.Subject ?? "", IdleReason);
        try
        {
            await _client!.TryDisconnectAsync(SshDisconnectReason.ByApplication, "wire: session ended: " + IdleReason).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException or IOException)
        {
            // The connection is already going.
        }
        await _ended.CancelAsync().ConfigureAwait(false);
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
            TouchUnlessKeepalive(message.Span);
            long received = WireDiagnostics.AddedLatency.Enabled ? Stopwatch.GetTimestamp() : 0;
            await _relay.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                _receivedAt = received;
                if (!HeldForReview(message))
                {
                    await OnClientMessageAsync(message, ct).ConfigureAwait(false);
                }
            }
            finally
            {
                _receivedAt = 0;
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
                TouchUnlessKeepalive(message.Span);
                long received = WireDiagnostics.AddedLatency.Enabled ? Stopwatch.GetTimestamp() : 0;
                await _relay.WaitAsync(ct).ConfigureAwait(false);
                try
                {
                    _receivedAt = received;
                    await OnTargetMessageAsync(message, ct).ConfigureAwait(false);
                }
                finally
                {
                    _receivedAt = 0;
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
        // Reaching the target is Wire's work, not idleness.
        using var hold = _idle?.Hold() ?? default;
        SshTransport? transport = null;
        WirePipe? pipe = null;
        try
        {
            if (Interlocked.Exchange(ref _upstreamTransport, null) is { } brought)
            {
                pipe = WirePipes.FromPipe(brought);
            }
            else
            {
                var (socket, _) = await WireConnector.ConnectAsync(target.Host, target.Port, _options.ConnectTimeout, timeout.Token).ConfigureAwait(false);
                pipe = WirePipes.FromSocket(socket, "ssh-target", receiveBytes: 64 * 1024, near: _clientPipe);
            }
            transport = new SshTransport(pipe.Pipe, new SshTransportOptions
            {
                VerifyHostKey = key => target.KnownHosts.Check(target.Host, target.Port, key) == SshHostKeyCheck.Trusted,
                RekeyBytes = _options.RekeyBytes,
                MaxPacketLength = _options.MaxPacketBytes,
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

    private SshTransport Leg(bool client) => client ? _client! : _target!;

    // ---- client -> target ----

    private async ValueTask OnClientMessageAsync(ReadOnlyMemory<byte> message, CancellationToken ct)
    {
        switch (message.Span[0])
        {
            case SshMessage.ChannelOpen:
                await OnOpenAsync(message, fromClient: true, ct).ConfigureAwait(false);
                return;
            case SshMessage.ChannelOpenConfirmation:
                await OnOpenConfirmationAsync(message, fromClient: true, ct).ConfigureAwait(false);
                return;
            case SshMessage.ChannelOpenFailure:
                await OnOpenFailureAsync(message, fromClient: true, ct).ConfigureAwait(false);
                return;
            case SshMessage.ChannelData or SshMessage.ChannelExtendedData or SshMessage.ChannelWindowAdjust or SshMessage.ChannelEof
                or SshMessage.ChannelClose:
                await OnFlowMessageAsync(message, fromClient: true, ct).ConfigureAwait(false);
                return;
            case SshMessage.ChannelRequest:
                await OnClientChannelRequestAsync(message, ct).ConfigureAwait(false);
                return;
            case SshMessage.ChannelSuccess or SshMessage.ChannelFailure:
            {
                // The client's answer to one of the target's requests (a keepalive): the target's requests all pass.
                var channel = Channel(message.Span, fromClient: true);
                await _target!.SendAsync(Readdressed(message.Span, channel.Target.Id), ct).ConfigureAwait(false);
                return;
            }
            case SshMessage.GlobalRequest:
                await OnClientGlobalRequestAsync(message, ct).ConfigureAwait(false);
                return;
            case SshMessage.RequestSuccess or SshMessage.RequestFailure:
                // Wire's only global request to the client (hostkeys-00) wants no reply.
                return;
            default:
                await SendUnimplementedAsync(_client!, ct).ConfigureAwait(false);
                return;
        }
    }

    // ---- target -> client ----

    private async ValueTask OnTargetMessageAsync(ReadOnlyMemory<byte> message, CancellationToken ct)
    {
        switch (message.Span[0])
        {
            case SshMessage.ChannelOpen:
                await OnOpenAsync(message, fromClient: false, ct).ConfigureAwait(false);
                return;
            case SshMessage.ChannelOpenConfirmation:
                await OnOpenConfirmationAsync(message, fromClient: false, ct).ConfigureAwait(false);
                return;
            case SshMessage.ChannelOpenFailure:
                await OnOpenFailureAsync(message, fromClient: false, ct).ConfigureAwait(false);
                return;
            case SshMessage.ChannelData or SshMessage.ChannelExtendedData or SshMessage.ChannelWindowAdjust or SshMessage.ChannelEof
                or SshMessage.ChannelClose:
                await OnFlowMessageAsync(message, fromClient: false, ct).ConfigureAwait(false);
                return;
            case SshMessage.ChannelRequest:
            {
                // exit-status, exit-signal, eow@openssh.com, keepalives: the client answers any that want a reply.
                var channel = Channel(message.Span, fromClient: false);
                NoteExit(channel, message.Span);
                if (channel.OutputMasker is not null)
                {
                    // Output held back goes before the exit status.
                    await ConsumedAsync(_target!, channel.Target, await FlushOutputAsync(channel, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
                    ReportMasked(channel);
                }
                await _client!.SendAsync(Readdressed(message.Span, channel.Client.Id), ct).ConfigureAwait(false);
                return;
            }
            case SshMessage.ChannelSuccess or SshMessage.ChannelFailure:
                await OnTargetChannelReplyAsync(message, ct).ConfigureAwait(false);
                return;
            case SshMessage.GlobalRequest:
                await OnTargetGlobalRequestAsync(message.Span, ct).ConfigureAwait(false);
                return;
            case SshMessage.RequestSuccess or SshMessage.RequestFailure:
                await OnTargetGlobalReplyAsync(message, ct).ConfigureAwait(false);
                return;
            default:
                await SendUnimplementedAsync(_target!, ct).ConfigureAwait(false);
                return;
        }
    }

    // ---- message helpers ----

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

    private static async ValueTask SendUnimplementedAsync(SshTransport to, CancellationToken ct)
    {
        byte[] message = new byte[5];
        message[0] = SshMessage.Unimplemented;
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(1), to.LastReceivedSequence);
        await to.SendAsync(message, ct).ConfigureAwait(false);
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

        [LoggerMessage(Level = LogLevel.Information, Message = "ssh session {Id}: channel {Channel} {Type} to {Destination}")]
        public static partial void Opened(ILogger logger, long id, uint channel, string type, string destination);

        [LoggerMessage(Level = LogLevel.Information, Message = "ssh session {Id}: refused a {Type} channel {Destination} opened by the {Peer}: {Reason}")]
        public static partial void OpenRefused(ILogger logger, long id, string peer, string type, string destination, string reason);

        [LoggerMessage(Level = LogLevel.Information, Message = "ssh session {Id}: channel {Channel} request {Request} refused: not enabled for target {Target}")]
        public static partial void RequestRefused(ILogger logger, long id, uint channel, string request, string target);

        [LoggerMessage(Level = LogLevel.Information, Message = "ssh session {Id}: {Request} {Destination}")]
        public static partial void ForwardRequested(ILogger logger, long id, string request, string destination);

        [LoggerMessage(Level = LogLevel.Information, Message = "ssh session {Id}: {Request} {Destination} refused: {Reason}")]
        public static partial void ForwardRefused(ILogger logger, long id, string request, string destination, string reason);
    }
}
