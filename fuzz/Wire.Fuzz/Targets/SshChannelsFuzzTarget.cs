using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Wire.Enforcement;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;
using Wire.Ssh.Authentication;
using Wire.Ssh.Keys;
using Wire.Ssh.Protocol;
using Wire.Ssh.Proxy;
using Wire.Ssh.Transport;

namespace Wire.Fuzz.Targets;

/// <summary>
/// The connection protocol (RFC 4254) as Wire's proxy session reads it, after decryption: a real
/// <see cref="SshProxySession"/> between an in-process client and an in-process target on loopback sockets, both
/// logged in for real, and then the input's messages, each sent by the peer it names, in order. That drives the
/// session's own parsers of CHANNEL_OPEN (session, direct-tcpip, forwarded-tcpip, streamlocal, x11,
/// agent), CHANNEL_REQUEST (pty-req, env, exec, shell, subsystem, window-change, exit-status, ...), channel data and
/// window accounting, global requests (tcpip-forward, hostkeys-prove, no-more-sessions) and their replies, and, with
/// the enforcement bit, the shell line editor and output masking.
/// </summary>
/// <remarks>
/// <para>Input: one settings byte (bits 0-4: the target's <see cref="SshForwarding"/> flags; bit 5: rules on, a deny
/// on <c>rm -rf *</c> and masking of secrets; bit 6: 64-byte channel windows and 32-byte packets), then records of a
/// header byte (bit 0 set: from the target, else from the client), a big-endian uint16 length and that many payload
/// bytes (a message, its type byte first). Target records before Wire connected to the target are skipped.</para>
/// <para>After each record the sender's leg is synchronised with a want-reply global request that Wire answers
/// itself, so the messages are handled in the order given. A session that breaks the protocol is a rejection; a
/// session that throws, or has not ended 3 s after the client left, is a finding.</para>
/// </remarks>
public sealed class SshChannelsFuzzTarget : IFuzzTarget
{
    /// <summary>Settings bit: rules are on (deny <c>rm -rf *</c>, mask secrets in output).</summary>
    public const byte Enforce = 1 << 5;

    /// <summary>Settings bit: tiny windows and packets, so flow control and queued data are exercised.</summary>
    public const byte SmallWindows = 1 << 6;

    private const string TargetName = "app";
    private static readonly TimeSpan SyncWait = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan InputBudget = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan EndWait = TimeSpan.FromSeconds(3);
    private static readonly byte[] Ping = BuildGlobalRequest("keepalive@openssh.com", wantReply: true);

    private static readonly Lazy<Fixture> Shared = new(() => new Fixture());
    private static long _sessions;

    /// <inheritdoc />
    public string Name => "ssh-channels";

    /// <inheritdoc />
    public bool IsSlow => true;

    /// <inheritdoc />
    public void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }
        RunAsync(input.ToArray()).GetAwaiter().GetResult();
    }

    /// <summary>One record of the input: who sends the message, and the message.</summary>
    public readonly record struct ScriptedMessage(bool FromTarget, ReadOnlyMemory<byte> Message);

    /// <summary>The records after the settings byte; a truncated last record keeps what is there.</summary>
    public static List<ScriptedMessage> ParseRecords(ReadOnlyMemory<byte> bytes)
    {
        var records = new List<ScriptedMessage>();
        while (bytes.Length >= 3)
        {
            var span = bytes.Span;
            bool fromTarget = (span[0] & 1) == 1;
            int length = Math.Min(BinaryPrimitives.ReadUInt16BigEndian(span[1..]), bytes.Length - 3);
            if (length > 0)
            {
                records.Add(new ScriptedMessage(fromTarget, bytes.Slice(3, length)));
            }
            bytes = bytes[(3 + length)..];
        }
        return records;
    }

    /// <summary>Encodes records as the target reads them (the inverse of <see cref="ParseRecords"/>).</summary>
    public static byte[] Encode(byte settings, IEnumerable<ScriptedMessage> records)
    {
        var output = new List<byte> { settings };
        foreach (var record in records)
        {
            output.Add(record.FromTarget ? (byte)1 : (byte)0);
            output.Add((byte)(record.Message.Length >> 8));
            output.Add((byte)record.Message.Length);
            output.AddRange(record.Message.ToArray());
        }
        return [.. output];
    }

    private static async Task RunAsync(byte[] input)
    {
        var fixture = Shared.Value;
        byte settings = input[0];
        var records = ParseRecords(input.AsMemory(1));
        using var budget = new CancellationTokenSource(InputBudget);
        var ct = budget.Token;

        using var targetListener = new TcpListener(IPAddress.Loopback, 0);
        targetListener.Start();
        int targetPort = ((IPEndPoint)targetListener.LocalEndpoint).Port;
        var options = fixture.Options(settings, targetPort);
        var log = new SessionLog();

        var (clientSocket, wireSocket) = await fixture.ConnectAsync(ct).ConfigureAwait(false);
        using var sessionStop = new CancellationTokenSource();
        var session = new SshProxySession(options, fixture.ClientAuthenticator, (settings & Enforce) != 0 ? fixture.Enforcement : null, log, wireSocket, wireSocket.RemoteEndPoint as System.Net.IPEndPoint,
            Interlocked.Increment(ref _sessions));
        var sessionRun = Task.Run(() => session.RunAsync(sessionStop.Token), CancellationToken.None);
        using var activity = new SemaphoreSlim(0);
        var target = new TargetPeer(targetListener, fixture, activity, ct);
        var client = new Peer(clientSocket, new SshTransportOptions { VerifyHostKey = key => key.Equals(fixture.WireHostKey.PublicKey) }, isServer: false,
            activity);
        try
        {
            await client.Transport.HandshakeAsync(ct).ConfigureAwait(false);
            await SshUserAuthClient.AuthenticateAsync(client.Transport, "fuzz+" + TargetName, fixture.ClientKey, null, ct).ConfigureAwait(false);
            client.StartReading(ct);
            foreach (var record in records)
            {
                if (record.FromTarget)
                {
                    if (target.Ready is not { } peer)
                    {
                        continue;
                    }
                    await peer.SendAndSyncAsync(record.Message, ct).ConfigureAwait(false);
                }
                else
                {
                    await client.SendAndSyncAsync(record.Message, ct, target).ConfigureAwait(false);
                    await target.SettleAsync().ConfigureAwait(false);
                }
                if (client.Ended || target.Ready is { Ended: true })
                {
                    break;
                }
            }
        }
        catch (Exception e) when (client.Authenticated && IsConnectionEnd(e))
        {
            // Wire ended the connection (a protocol error, a refusal): what happens next is the session's to report.
        }
        catch (Exception e) when (!client.Authenticated && e is not FuzzInvariantException)
        {
            throw new FuzzInvariantException($"the fixed login through Wire failed: {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            await client.CloseAsync().ConfigureAwait(false);
        }

        if (await Task.WhenAny(sessionRun, Task.Delay(EndWait, CancellationToken.None)).ConfigureAwait(false) != sessionRun)
        {
            await sessionStop.CancelAsync().ConfigureAwait(false);
            await target.CloseAsync().ConfigureAwait(false);
            throw new FuzzInvariantException($"the session had not ended {EndWait.TotalSeconds} s after the client left");
        }
        await target.CloseAsync().ConfigureAwait(false);
        // Whatever the session let escape is a finding: it catches what a peer can cause.
        await sessionRun.ConfigureAwait(false);
        if (log.Finding is { } finding)
        {
            throw new FuzzInvariantException(finding);
        }
        if (log.Violation is { } violation)
        {
            throw new ProtocolViolationException(violation);
        }
    }

    private static bool IsConnectionEnd(Exception e) => e is SshDisconnectedException or SshProtocolException or IOException or SocketException
        or ObjectDisposedException or OperationCanceledException or InvalidOperationException;

    private static byte[] BuildGlobalRequest(string name, bool wantReply)
    {
        using var writer = new SshWriter(64);
        return writer.Byte(SshMessage.GlobalRequest).String(name).Boolean(wantReply).ToArray();
    }

    /// <summary>Whether <paramref name="message"/> is a well-formed global request that wants a reply (Wire then owes one).</summary>
    private static bool WantsReply(ReadOnlySpan<byte> message)
    {
        if (message.Length < 6 || message[0] != SshMessage.GlobalRequest)
        {
            return false;
        }
        uint length = BinaryPrimitives.ReadUInt32BigEndian(message[1..]);
        return length <= (uint)(message.Length - 6) && message[5 + (int)length] != 0;
    }

    /// <summary>What lives for the whole process: keys, Wire's listener for the client leg, the rules.</summary>
    private sealed class Fixture
    {
        private readonly Socket _listener;

        public Fixture()
        {
            WireHostKey = SshPrivateKey.FromEd25519Seed(Seed(1));
            TargetHostKey = SshPrivateKey.FromEd25519Seed(Seed(2));
            TargetLoginKey = SshPrivateKey.FromEd25519Seed(Seed(3));
            ClientKey = SshPrivateKey.FromEd25519Seed(Seed(4));
            ClientAuthenticator = new KeyAuthenticator(ClientKey.PublicKey);
            TargetAuthenticator = new KeyAuthenticator(TargetLoginKey.PublicKey);
            Enforcement = new WireEnforcement
            {
                Rules = new RuleSetProvider(RuleSet.Create(
                [
                    new RuleDefinition { Name = "no-rm", Action = PolicyAction.Deny, Commands = ["rm -rf *"] },
                    new RuleDefinition { Name = "secrets", Action = PolicyAction.Mask, Detectors = ["aws-key", "jwt", "pem", "card", "email"] },
                ])),
                MaskingKey = Seed(5),
            };
            _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(16);
        }

        public SshPrivateKey WireHostKey { get; }

        public SshPrivateKey TargetHostKey { get; }

        public SshPrivateKey TargetLoginKey { get; }

        public SshPrivateKey ClientKey { get; }

        public ISshUserAuthenticator ClientAuthenticator { get; }

        public ISshUserAuthenticator TargetAuthenticator { get; }

        public WireEnforcement Enforcement { get; }

        private static byte[] Seed(byte value) => Enumerable.Repeat(value, 32).ToArray();

        public SshProxyOptions Options(byte settings, int targetPort) => new()
        {
            HostKeys = [WireHostKey],
            Targets =
            [
                new SshProxyTarget
                {
                    Name = TargetName,
                    Host = "127.0.0.1",
                    Port = targetPort,
                    UserName = "fuzz",
                    PrivateKey = TargetLoginKey,
                    KnownHosts = SshKnownHosts.Parse($"[127.0.0.1]:{targetPort} {TargetHostKey.PublicKey.ToOpenSshString()}\n"),
                    Forwarding = (SshForwarding)(settings & 0x1F),
                },
            ],
            ChannelBufferBytes = (settings & SmallWindows) != 0 ? 64 : 2 << 20,
            MaxChannelPacket = (settings & SmallWindows) != 0 ? 32 : 32 * 1024,
            MaxChannels = 4,
            HandshakeTimeout = TimeSpan.FromSeconds(3),
            ConnectTimeout = TimeSpan.FromSeconds(3),
        };

        /// <summary>A connected pair on loopback: the client's end and Wire's.</summary>
        public async Task<(Socket Client, Socket Wire)> ConnectAsync(CancellationToken ct)
        {
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            var accept = _listener.AcceptAsync(ct);
            await client.ConnectAsync(_listener.LocalEndPoint!, ct).ConfigureAwait(false);
            return (client, await accept.ConfigureAwait(false));
        }
    }

    /// <summary>Accepts exactly one key, for any user name.</summary>
    private sealed class KeyAuthenticator(SshPublicKey key) : ISshUserAuthenticator
    {
        public WireIdentity? FindByPublicKey(string userName, SshPublicKey presented) =>
            presented.Equals(key) ? new WireIdentity("fuzz", ["fuzzers"], "ssh-key") : null;

        public ValueTask<IdentityValidationResult> ValidateTokenAsync(string userName, string token, CancellationToken cancellationToken) =>
            ValueTask.FromResult(IdentityValidationResult.Failure("no tokens here"));
    }

    /// <summary>
    /// One peer of Wire over a socket: its transport, a reader that drains what Wire sends and counts the replies to
    /// global requests (and the global requests Wire relays), and the synchronisation after each message.
    /// </summary>
    private sealed class Peer
    {
        private readonly Socket _socket;
        private readonly NetworkStream _stream;
        private readonly SemaphoreSlim _activity;
        private Task _reading = Task.CompletedTask;
        private int _replies;
        private int _globalRequests;
        private int _expected;
        private bool _desynchronised;
        private volatile bool _ended;

        /// <param name="activity">Released whenever either peer receives something: what a waiting sync re-checks on.</param>
        public Peer(Socket socket, SshTransportOptions options, bool isServer, SemaphoreSlim activity)
        {
            _socket = socket;
            _activity = activity;
            _stream = new NetworkStream(socket, ownsSocket: false);
            Transport = new SshTransport(new StreamDuplex(PipeReader.Create(_stream), PipeWriter.Create(_stream)), options, isServer);
        }

        public SshTransport Transport { get; }

        public bool Authenticated { get; private set; }

        /// <summary>Wire closed this leg (or the input budget ran out).</summary>
        public bool Ended => _ended;

        /// <summary>Global requests received from Wire (on the target's leg: the client's forwards Wire relayed).</summary>
        public int GlobalRequests => Volatile.Read(ref _globalRequests);

        public void StartReading(CancellationToken ct)
        {
            Authenticated = true;
            _reading = ReadAsync(ct);
        }

        private async Task ReadAsync(CancellationToken ct)
        {
            try
            {
                while (true)
                {
                    var message = await Transport.ReceiveAsync(ct).ConfigureAwait(false);
                    switch (message.Span[0])
                    {
                        case SshMessage.RequestSuccess or SshMessage.RequestFailure:
                            Interlocked.Increment(ref _replies);
                            break;
                        case SshMessage.GlobalRequest:
                            Interlocked.Increment(ref _globalRequests);
                            break;
                    }
                    _activity.Release();
                }
            }
            catch (Exception e) when (IsConnectionEnd(e))
            {
                _ended = true;
                _activity.Release();
            }
        }

        /// <summary>
        /// Sends one message, then a ping, and waits until Wire answered every want-reply global request this peer sent,
        /// or until <paramref name="relayedTo"/> received a global request: a forward Wire relays is
        /// answered by the target, so the answers owed here come once the input has the target reply.
        /// </summary>
        public async Task SendAndSyncAsync(ReadOnlyMemory<byte> message, CancellationToken ct, TargetPeer? relayedTo = null)
        {
            int relayedBefore = relayedTo?.GlobalRequests ?? 0;
            await Transport.SendAsync(message, ct).ConfigureAwait(false);
            if (WantsReply(message.Span))
            {
                _expected++;
            }
            if (_desynchronised)
            {
                // A reply that never came (owed by the target, which the input never gives): no more waiting on this leg.
                await Task.Yield();
                return;
            }
            await Transport.SendAsync(Ping, ct).ConfigureAwait(false);
            _expected++;
            var deadline = DateTime.UtcNow + SyncWait;
            while (Volatile.Read(ref _replies) < _expected && !_ended && (relayedTo is null || relayedTo.GlobalRequests == relayedBefore))
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !await _activity.WaitAsync(left, ct).ConfigureAwait(false))
                {
                    _desynchronised = true;
                    return;
                }
            }
        }

        public async Task CloseAsync()
        {
            try
            {
                _socket.Shutdown(SocketShutdown.Both);
            }
            catch (SocketException)
            {
                // Already gone.
            }
            _socket.Dispose();
            try
            {
                await _reading.ConfigureAwait(false);
            }
            finally
            {
                await _stream.DisposeAsync().ConfigureAwait(false);
                await Transport.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>The target: accepts Wire's connection when Wire makes one, logs Wire in, then drains and answers as scripted.</summary>
    private sealed class TargetPeer
    {
        private readonly TcpListener _listener;
        private readonly Task _serving;
        private readonly TaskCompletionSource _accepted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Peer? _peer;
        private volatile Peer? _ready;

        public TargetPeer(TcpListener listener, Fixture fixture, SemaphoreSlim activity, CancellationToken ct)
        {
            _listener = listener;
            _serving = ServeAsync(listener, fixture, activity, ct);
        }

        /// <summary>The target once Wire logged in to it; null before (or if it never does).</summary>
        public Peer? Ready => _ready;

        /// <summary>Global requests the target received from Wire (relayed forwards); 0 before Wire connected.</summary>
        public int GlobalRequests => _peer?.GlobalRequests ?? 0;

        private async Task ServeAsync(TcpListener listener, Fixture fixture, SemaphoreSlim activity, CancellationToken ct)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            socket.NoDelay = true;
            _peer = new Peer(socket, new SshTransportOptions { HostKeys = [fixture.TargetHostKey] }, isServer: true, activity);
            _accepted.TrySetResult();
            try
            {
                await _peer.Transport.HandshakeAsync(ct).ConfigureAwait(false);
                await new SshUserAuthServer(_peer.Transport, fixture.TargetAuthenticator).RunAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (IsConnectionEnd(e))
            {
                // Wire gave up on the target (the client left): nothing to serve.
                return;
            }
            _peer.StartReading(ct);
            _ready = _peer;
        }

        /// <summary>After a client message: if Wire started connecting to the target, waits until it is logged in.</summary>
        public async Task SettleAsync()
        {
            if (_accepted.Task.IsCompleted && _ready is null)
            {
                await Task.WhenAny(_serving, Task.Delay(SyncWait)).ConfigureAwait(false);
            }
        }

        public async Task CloseAsync()
        {
            // Wire will not connect any more: an accept still waiting ends now.
            _listener.Stop();
            if (_peer is { } peer)
            {
                await Task.WhenAny(_serving, Task.Delay(SyncWait)).ConfigureAwait(false);
                await peer.CloseAsync().ConfigureAwait(false);
            }
            await _serving.ConfigureAwait(false);
        }
    }

    private sealed class StreamDuplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;

        public PipeWriter Output => output;
    }

    /// <summary>
    /// The session's log, read for its outcome: a protocol error is the rejection; an end whose reason is a .NET
    /// collection or state error (the session catches <see cref="InvalidOperationException"/> as a connection end) is a
    /// finding, as is anything logged as an error.
    /// </summary>
    private sealed class SessionLog : ILogger
    {
        private static readonly string[] BugSignatures =
        [
            "Queue empty", "Stack empty", "Collection was modified", "Nullable object must have a value", "Sequence contains",
            "Operations that change non-concurrent collections",
        ];

        private readonly Lock _gate = new();

        public string? Violation { get; private set; }

        public string? Finding { get; private set; }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            string text = formatter(state, exception);
            lock (_gate)
            {
                if (logLevel >= LogLevel.Error || exception is not null)
                {
                    Finding ??= $"the session logged {logLevel}: {text} {exception}";
                }
                else if (BugSignatures.Any(s => text.Contains(s, StringComparison.Ordinal)))
                {
                    Finding ??= "the session ended on a state error: " + text;
                }
                else if (text.Contains("broke the protocol", StringComparison.Ordinal))
                {
                    Violation ??= text;
                }
            }
        }
    }
}
