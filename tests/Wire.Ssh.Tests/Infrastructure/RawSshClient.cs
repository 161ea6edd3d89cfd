using System.Net;
using System.Net.Sockets;
using System.Text;
using Wire.Enforcement.Transport;
using Wire.Ssh.Authentication;
using Wire.Ssh.Keys;
using Wire.Ssh.Protocol;
using Wire.Ssh.Transport;

namespace Wire.Ssh.Tests.Infrastructure;

/// <summary>
/// A bare SSH client on Wire's own transport and user authentication, for messages no client program lets a test send
/// and watch the answer to (break, signal, several requests before any reply, no-more-sessions) and for what comes back
/// (exit-signal, the order of replies). Messages are handled as a test waits for something.
/// </summary>
internal sealed class RawSshClient : IAsyncDisposable
{
    private readonly SshTransport _transport;
    private readonly WirePipe _pipe;
    private readonly CancellationTokenSource _cts = new(TimeSpan.FromSeconds(60));
    private readonly Dictionary<uint, Channel> _channels = [];
    private uint _next;

    private RawSshClient(SshTransport transport, WirePipe pipe)
    {
        _transport = transport;
        _pipe = pipe;
    }

    /// <summary>Replies to this client's global requests, in the order they came: true for success.</summary>
    public List<bool> GlobalReplies { get; } = [];

    /// <summary>The transport, for a test that reaches into it (the capture of <c>SshPlaintextClient</c>).</summary>
    public SshTransport Transport => _transport;

    /// <summary>Logs in to Wire on <paramref name="port"/> with a key file or a token as the password.</summary>
    public static async Task<RawSshClient> ConnectAsync(int port, string userName, string? keyPath = null, string? password = null)
    {
        var client = await HandshakeAsync(port, k => k.Equals(SshKeys.Ed25519.PublicKey) || k.Equals(SshKeys.Rsa.PublicKey));
        try
        {
            using var key = keyPath is null ? null : OpenSshKeyFile.Parse(File.ReadAllText(keyPath));
            await client.AuthenticateAsync(userName, key, password);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Connects to 127.0.0.1:<paramref name="port"/> and completes the key exchange, the server's host key checked by
    /// <paramref name="verifyHostKey"/>; the client is not logged in yet (<see cref="AuthenticateAsync"/>).
    /// </summary>
    public static async Task<RawSshClient> HandshakeAsync(int port, Func<SshPublicKey, bool> verifyHostKey)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        var pipe = WirePipes.FromSocket(socket, "ssh-test-raw-client");
        var transport = new SshTransport(pipe.Pipe, new SshTransportOptions { VerifyHostKey = verifyHostKey }, isServer: false);
        var client = new RawSshClient(transport, pipe);
        try
        {
            await transport.HandshakeAsync(client._cts.Token);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// User authentication with a key or a password (a token); throws <see cref="SshAuthenticationException"/> when refused.
    /// </summary>
    public Task AuthenticateAsync(string userName, SshPrivateKey? key, string? password) =>
        SshUserAuthClient.AuthenticateAsync(_transport, userName, key, password, _cts.Token);

    /// <summary>Opens a channel and waits for the answer: <see cref="Channel.Opened"/> or <see cref="Channel.OpenFailure"/>.</summary>
    public async Task<Channel> OpenAsync(string type, Action<SshWriter>? extra = null)
    {
        var channel = new Channel(_next++);
        _channels.Add(channel.LocalId, channel);
        using var open = new SshWriter();
        open.Byte(SshMessage.ChannelOpen).String(type).UInt32(channel.LocalId).UInt32(1 << 20).UInt32(32 * 1024);
        extra?.Invoke(open);
        await _transport.SendAsync(open.ToArray(), _cts.Token);
        await WaitAsync(() => channel.Opened || channel.OpenFailure is not null, $"the answer to opening a {type} channel");
        return channel;
    }

    /// <summary>Opens a session channel; it must be confirmed.</summary>
    public async Task<Channel> OpenSessionAsync()
    {
        var channel = await OpenAsync("session");
        if (!channel.Opened)
        {
            throw new InvalidOperationException($"the session was refused: reason {channel.OpenFailure}");
        }
        return channel;
    }

    /// <summary>Sends a channel request without waiting for its reply.</summary>
    public async Task SendRequestAsync(Channel channel, string request, bool wantReply, Action<SshWriter> body)
    {
        using var writer = new SshWriter();
        writer.Byte(SshMessage.ChannelRequest).UInt32(channel.RemoteId).String(request).Boolean(wantReply);
        body(writer);
        await _transport.SendAsync(writer.ToArray(), _cts.Token);
    }

    /// <summary>Sends a channel request with want-reply; whether the answer was success.</summary>
    public async Task<bool> RequestAsync(Channel channel, string request, Action<SshWriter> body)
    {
        int before = channel.Replies.Count;
        await SendRequestAsync(channel, request, wantReply: true, body);
        await WaitAsync(channel, c => c.Replies.Count > before, $"the reply to {request}");
        return channel.Replies[before];
    }

    /// <summary>Sends a global request (its reply, if wanted, is added to <see cref="GlobalReplies"/>).</summary>
    public async Task SendGlobalRequestAsync(string request, bool wantReply, Action<SshWriter>? body = null)
    {
        using var writer = new SshWriter();
        writer.Byte(SshMessage.GlobalRequest).String(request).Boolean(wantReply);
        body?.Invoke(writer);
        await _transport.SendAsync(writer.ToArray(), _cts.Token);
    }

    public async Task SendDataAsync(Channel channel, string text) =>
        await _transport.SendChannelDataAsync(channel.RemoteId, null, Encoding.UTF8.GetBytes(text), _cts.Token);

    public async Task SendEofAsync(Channel channel)
    {
        using var eof = new SshWriter(16);
        await _transport.SendAsync(eof.Byte(SshMessage.ChannelEof).UInt32(channel.RemoteId).ToArray(), _cts.Token);
    }

    /// <summary>Handles messages until <paramref name="done"/> holds for the channel.</summary>
    public Task WaitAsync(Channel channel, Func<Channel, bool> done, string what) => WaitAsync(() => done(channel), what + "; output so far: " + channel.Output);

    /// <summary>Handles messages until <paramref name="done"/> holds.</summary>
    public async Task WaitAsync(Func<bool> done, string what)
    {
        while (!done())
        {
            ReadOnlyMemory<byte> message;
            try
            {
                message = await _transport.ReceiveAsync(_cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{what} did not come");
            }
            await HandleAsync(message);
        }
    }

    private async Task HandleAsync(ReadOnlyMemory<byte> message)
    {
        byte type = message.Span[0];
        switch (type)
        {
            case SshMessage.GlobalRequest:
            {
                // hostkeys-00 from Wire wants no reply; anything else gets the usual failure.
                var global = new SshReader(message.Span[1..]);
                global.ReadAscii();
                if (global.ReadBoolean())
                {
                    await _transport.SendAsync(new[] { SshMessage.RequestFailure }, _cts.Token);
                }
                return;
            }
            case SshMessage.RequestSuccess or SshMessage.RequestFailure:
                GlobalReplies.Add(type == SshMessage.RequestSuccess);
                return;
            case < SshMessage.ChannelOpenConfirmation or > SshMessage.ChannelFailure:
                return;
        }
        var reader = new SshReader(message.Span[1..]);
        var channel = _channels[reader.ReadUInt32()];
        switch (type)
        {
            case SshMessage.ChannelOpenConfirmation:
                channel.RemoteId = reader.ReadUInt32();
                channel.Opened = true;
                break;
            case SshMessage.ChannelOpenFailure:
                channel.OpenFailure = reader.ReadUInt32();
                channel.Errors.Append(reader.ReadUtf8());
                break;
            case SshMessage.ChannelData:
                channel.Output.Append(Encoding.UTF8.GetString(reader.ReadString()));
                break;
            case SshMessage.ChannelExtendedData:
                reader.ReadUInt32();
                channel.Errors.Append(Encoding.UTF8.GetString(reader.ReadString()));
                break;
            case SshMessage.ChannelEof:
                channel.Eof = true;
                break;
            case SshMessage.ChannelSuccess:
                channel.Replies.Add(true);
                break;
            case SshMessage.ChannelFailure:
                channel.Replies.Add(false);
                break;
            case SshMessage.ChannelRequest:
            {
                string request = reader.ReadAscii();
                bool wantReply = reader.ReadBoolean();
                if (request == "exit-status")
                {
                    channel.ExitStatus = reader.ReadUInt32();
                }
                else if (request == "exit-signal")
                {
                    channel.ExitSignal = reader.ReadAscii();
                }
                if (wantReply)
                {
                    // keepalive@openssh.com from sshd and the like.
                    using var failure = new SshWriter(16);
                    await _transport.SendAsync(failure.Byte(SshMessage.ChannelFailure).UInt32(channel.RemoteId).ToArray(), _cts.Token);
                }
                break;
            }
            case SshMessage.ChannelClose:
                channel.Closed = true;
                using (var close = new SshWriter(16))
                {
                    await _transport.SendAsync(close.Byte(SshMessage.ChannelClose).UInt32(channel.RemoteId).ToArray(), _cts.Token);
                }
                break;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _transport.TryDisconnectAsync(SshDisconnectReason.ByApplication, "test done");
        await _pipe.Pipe.Output.CompleteAsync();
        await _transport.DisposeAsync();
        _pipe.Dispose();
        _cts.Dispose();
    }

    /// <summary>One channel as the client sees it.</summary>
    internal sealed class Channel(uint localId)
    {
        public uint LocalId { get; } = localId;

        public uint RemoteId { get; set; }

        public bool Opened { get; set; }

        /// <summary>The reason code when the open was refused.</summary>
        public uint? OpenFailure { get; set; }

        public bool Eof { get; set; }

        public bool Closed { get; set; }

        /// <summary>Channel data (stdout).</summary>
        public StringBuilder Output { get; } = new();

        /// <summary>Extended data (stderr), or the description of an open failure.</summary>
        public StringBuilder Errors { get; } = new();

        /// <summary>Replies to this client's requests on the channel, in order: true for success.</summary>
        public List<bool> Replies { get; } = [];

        public uint? ExitStatus { get; set; }

        public string? ExitSignal { get; set; }
    }
}
