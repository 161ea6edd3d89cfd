using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Renci.SshNet;
using Wire.Enforcement.Transport;
using Wire.Ssh.Authentication;
using Wire.Ssh.Keys;
using Wire.Ssh.Protocol;
using Wire.Ssh.Proxy;
using Wire.Ssh.Tests.Infrastructure;
using Wire.Ssh.Tests.Keys;
using Wire.Ssh.Transport;

namespace Wire.Ssh.Tests.Proxy;

/// <summary>
/// Forwarding through Wire to a real sshd: ssh -L, -W and -R (a chosen port and port 0), SSH.NET's local and remote
/// forwarded ports, Unix sockets, the agent and X11, each refused where the target does not enable it; global requests
/// Wire answers itself (host keys for UpdateHostKeys, keepalives, no-more-sessions) and replies kept in order.
/// Three targets on the same sshd: <c>app</c> (the default: TCP both ways), <c>open</c> (everything), <c>locked</c> (nothing).
/// </summary>
public sealed class SshForwardingTests(SshdFixture sshd) : IClassFixture<SshdFixture>, IAsyncLifetime
{
    private const string Token = "tok-alice-77f1";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly SshKeygen _keys = new();
    private readonly TempDirectory _directory = new();
    private SshProxyServer? _server;
    private SshPrivateKey? _targetKey;

    public Task InitializeAsync()
    {
        _keys.Generate("alice", "ed25519");
        _targetKey = OpenSshKeyFile.Parse(File.ReadAllText(sshd.ClientKeyPath));
        SshProxyTarget Target(string name, SshForwarding forwarding) => new()
        {
            Name = name, Host = "127.0.0.1", Port = sshd.Port, UserName = sshd.UserName, PrivateKey = _targetKey,
            KnownHosts = SshKnownHosts.Parse(sshd.KnownHostsLine + "\n"), Forwarding = forwarding,
        };
        var options = new SshProxyOptions
        {
            HostKeys = [SshKeys.Ed25519, SshKeys.Rsa],
            Targets =
            [
                Target("app", SshForwarding.Local | SshForwarding.Remote),
                Target("open", SshForwarding.Local | SshForwarding.Remote | SshForwarding.Agent | SshForwarding.X11 | SshForwarding.StreamLocal),
                Target("locked", SshForwarding.None),
            ],
        };
        _server = new SshProxyServer(new IPEndPoint(IPAddress.Loopback, 0), options,
            new TestAuthenticator("alice", [_keys.PublicKey("alice")], Token), NullLoggerFactory.Instance);
        _server.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
        _targetKey?.Dispose();
        _keys.Dispose();
        _directory.Dispose();
    }

    private int Port => _server!.LocalEndPoint.Port;

    private List<string> SshArguments(params string[] extra) =>
    [
        "-F", "/dev/null", "-p", Port.ToString(CultureInfo.InvariantCulture), "-i", _keys.PathOf("alice"), "-o", "IdentitiesOnly=yes",
        "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "LogLevel=ERROR", .. extra,
    ];

    [Fact]
    public async Task Local_forwards_carry_several_connections_to_the_target()
    {
        using var echo = new EchoServer();
        int local = FreePort();
        using var ssh = new BackgroundProcess("ssh", SshArguments("-N", "-o", "ExitOnForwardFailure=yes",
            "-L", $"127.0.0.1:{local}:127.0.0.1:{echo.Port}", "alice+app@127.0.0.1"));
        await WaitForListenerAsync(local, ssh);
        // Three connections at once: three direct-tcpip channels, 1 MiB each way through each.
        await Task.WhenAll(Enumerable.Range(0, 3).Select(i => EchoRoundTripAsync(new IPEndPoint(IPAddress.Loopback, local), 1 << 20, seed: i)));
        // The three, and the probes that waited for ssh to listen.
        Assert.True(echo.Connections >= 3, $"{echo.Connections} connections reached the service");
    }

    [Fact]
    public async Task Stdio_forwarding_uses_a_direct_tcpip_channel()
    {
        using var echo = new EchoServer();
        var result = await Processes.RunAsync("ssh", SshArguments("-W", $"127.0.0.1:{echo.Port}", "alice+app@127.0.0.1"), Timeout,
            standardInput: "through wire\n");
        Assert.True(result.ExitCode == 0, result.StandardError);
        Assert.Equal("through wire\n", result.StandardOutput);
    }

    [Fact]
    public async Task Remote_forwards_bring_connections_made_at_the_target_back_to_the_client()
    {
        using var service = new EchoServer();
        int remote = FreePort();
        using var ssh = new BackgroundProcess("ssh", SshArguments("-N", "-o", "ExitOnForwardFailure=yes",
            "-R", $"127.0.0.1:{remote}:127.0.0.1:{service.Port}", "alice+app@127.0.0.1"));
        // sshd listens on the target (this machine) once the tcpip-forward went through Wire.
        await WaitForListenerAsync(remote, ssh);
        await Task.WhenAll(Enumerable.Range(0, 2).Select(i => EchoRoundTripAsync(new IPEndPoint(IPAddress.Loopback, remote), 256 * 1024, seed: 10 + i)));
    }

    [Fact]
    public async Task A_remote_forward_of_port_0_gets_the_port_the_target_chose()
    {
        using var service = new EchoServer();
        var args = SshArguments("-N", "-o", "ExitOnForwardFailure=yes", "-R", $"127.0.0.1:0:127.0.0.1:{service.Port}", "alice+app@127.0.0.1");
        args[args.IndexOf("LogLevel=ERROR")] = "LogLevel=INFO";
        using var ssh = new BackgroundProcess("ssh", args);
        string port = await ssh.WaitForOutputAsync(output => Regex.Match(output, @"Allocated port (\d+) for remote forward") is { Success: true } m
            ? m.Groups[1].Value : null, Timeout);
        // The chosen port came back in the reply, so Wire lets the target's forwarded-tcpip channels for it through.
        await EchoRoundTripAsync(new IPEndPoint(IPAddress.Loopback, int.Parse(port, CultureInfo.InvariantCulture)), 64 * 1024, seed: 20);
    }

    [Fact]
    public async Task SshNet_forwarded_ports_work_both_ways_and_a_cancelled_remote_forward_stops_listening()
    {
        using var echo = new EchoServer();
        using var client = new SshClient(new ConnectionInfo("127.0.0.1", Port, "alice+app", new PasswordAuthenticationMethod("alice+app", Token)));
        await client.ConnectAsync(CancellationToken.None);

        using var local = new ForwardedPortLocal("127.0.0.1", 0, "127.0.0.1", (uint)echo.Port);
        client.AddForwardedPort(local);
        local.Start();
        // SSH.NET closes a forwarded channel when its local socket half-closes, so these connections stay open until the echo is back.
        await EchoRoundTripAsync(new IPEndPoint(IPAddress.Loopback, (int)local.BoundPort), 512 * 1024, seed: 30, halfClose: false);
        local.Stop();

        int remotePort = FreePort();
        using var remote = new ForwardedPortRemote(IPAddress.Loopback, (uint)remotePort, IPAddress.Loopback, (uint)echo.Port);
        client.AddForwardedPort(remote);
        remote.Start();
        await EchoRoundTripAsync(new IPEndPoint(IPAddress.Loopback, remotePort), 64 * 1024, seed: 31, halfClose: false);
        // Stop sends cancel-tcpip-forward through Wire: sshd closes its listener.
        remote.Stop();
        await WaitUntilAsync(async () =>
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, remotePort);
                return false;
            }
            catch (SocketException)
            {
                return true;
            }
        }, "the cancelled remote forward still accepts connections");
    }

    [Fact]
    public async Task A_target_without_forwarding_refuses_each_kind_and_the_connection_stays_up()
    {
        using var echo = new EchoServer();
        var directArgs = SshArguments("-W", $"127.0.0.1:{echo.Port}", "alice+locked@127.0.0.1");
        directArgs[directArgs.IndexOf("LogLevel=ERROR")] = "LogLevel=INFO";
        var direct = await Processes.RunAsync("ssh", directArgs, Timeout, standardInput: "x\n");
        Assert.Equal(255, direct.ExitCode);
        Assert.Contains("administratively prohibited: wire: TCP forwarding is not enabled for target locked", direct.StandardError, StringComparison.Ordinal);
        Assert.Equal(0, echo.Connections);

        var reverse = await Processes.RunAsync("ssh", SshArguments("-N", "-o", "ExitOnForwardFailure=yes", "-R", $"127.0.0.1:{FreePort()}:127.0.0.1:{echo.Port}",
            "alice+locked@127.0.0.1"), Timeout);
        Assert.Equal(255, reverse.ExitCode);
        Assert.Contains("remote port forwarding failed", reverse.StandardError, StringComparison.Ordinal);

        // A refused local forward ends that forwarded connection only; the session on the same connection still runs.
        int local = FreePort();
        using var ssh = new BackgroundProcess("ssh", SshArguments("-L", $"127.0.0.1:{local}:127.0.0.1:{echo.Port}", "alice+locked@127.0.0.1",
            "sleep 2; echo session-$((6*7))"));
        await WaitForListenerAsync(local, ssh);
        using (var connection = new TcpClient())
        {
            await connection.ConnectAsync(IPAddress.Loopback, local);
            using var cts = new CancellationTokenSource(Timeout);
            Assert.Equal(0, await connection.GetStream().ReadAsync(new byte[16], cts.Token));
        }
        await ssh.WaitForOutputAsync(output => output.Contains("session-42", StringComparison.Ordinal) ? output : null, Timeout);
        Assert.Equal(0, echo.Connections);
    }

    [Fact]
    public async Task Agent_forwarding_passes_only_where_enabled()
    {
        string socket = Path.Combine(_directory.Path, "agent.sock");
        using var agent = new BackgroundProcess("ssh-agent", ["-D", "-a", socket]);
        await WaitUntilAsync(() => Task.FromResult(File.Exists(socket)), "ssh-agent did not start");
        var added = await Processes.RunAsync("env", ["SSH_AUTH_SOCK=" + socket, "ssh-add", _keys.PathOf("alice")], Timeout);
        Assert.True(added.ExitCode == 0, added.StandardError);
        string fingerprint = _keys.PublicKey("alice").Fingerprint;

        // With the target's agent forwarding enabled, ssh-add on the target lists the client's key through Wire.
        var open = await Processes.RunAsync("ssh", SshArguments("-A", "-o", "IdentityAgent=" + socket, "alice+open@127.0.0.1", "ssh-add -l"), Timeout);
        Assert.True(open.ExitCode == 0, open.StandardError + sshd.Log);
        Assert.Contains(fingerprint, open.StandardOutput, StringComparison.Ordinal);

        // Without it, the target gets no agent.
        var app = await Processes.RunAsync("ssh", SshArguments("-A", "-o", "IdentityAgent=" + socket, "alice+app@127.0.0.1",
            "echo \"sock=${SSH_AUTH_SOCK:-none}\"; ssh-add -l; echo \"rc=$?\""), Timeout);
        Assert.Contains("sock=none", app.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("rc=2", app.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(fingerprint, app.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task X11_forwarding_passes_only_where_enabled()
    {
        // No X server is needed for the request itself: trusted forwarding (-Y) sends x11-req with made-up credentials.
        var open = await Processes.RunAsync("env", ["DISPLAY=127.0.0.1:99", "ssh", .. SshArguments("-Y", "alice+open@127.0.0.1", "echo \"display=$DISPLAY\"")],
            Timeout);
        Assert.True(open.ExitCode == 0, open.StandardError);
        Assert.Matches(@"display=localhost:\d+\.0", open.StandardOutput);

        var app = await Processes.RunAsync("env", ["DISPLAY=127.0.0.1:99", "ssh", .. SshArguments("-Y", "alice+app@127.0.0.1", "echo \"display=$DISPLAY\"")],
            Timeout);
        Assert.True(app.ExitCode == 0, app.StandardError);
        Assert.Equal("display=\n", app.StandardOutput);
    }

    [Fact]
    public async Task Unix_socket_forwarding_passes_only_where_enabled()
    {
        string path = Path.Combine(_directory.Path, "service.sock");
        using var service = new EchoServer(path);
        int local = FreePort();
        using (var ssh = new BackgroundProcess("ssh", SshArguments("-N", "-o", "ExitOnForwardFailure=yes", "-L", $"127.0.0.1:{local}:{path}", "alice+open@127.0.0.1")))
        {
            await WaitForListenerAsync(local, ssh);
            await EchoRoundTripAsync(new IPEndPoint(IPAddress.Loopback, local), 128 * 1024, seed: 40);
        }
        int reached = service.Connections;

        var args = SshArguments("-N", "-L", $"127.0.0.1:{local}:{path}", "alice+app@127.0.0.1");
        args[args.IndexOf("LogLevel=ERROR")] = "LogLevel=INFO";
        using (var ssh = new BackgroundProcess("ssh", args))
        {
            await WaitForListenerAsync(local, ssh);
            using var connection = new TcpClient();
            await connection.ConnectAsync(IPAddress.Loopback, local);
            // Refused at Wire: the forwarded connection ends without reaching the socket.
            using var cts = new CancellationTokenSource(Timeout);
            Assert.Equal(0, await connection.GetStream().ReadAsync(new byte[16], cts.Token));
            await ssh.WaitForOutputAsync(output => output.Contains("Unix socket forwarding is not enabled for target app", StringComparison.Ordinal) ? output : null, Timeout);
        }
        Assert.Equal(reached, service.Connections);
    }

    [Fact]
    public async Task OpenSsh_learns_all_of_wires_host_keys_when_it_knows_one()
    {
        // known_hosts lists only Wire's Ed25519 key; Wire announces its RSA key too and proves it holds it.
        string knownHosts = Path.Combine(_directory.Path, "known_hosts");
        File.WriteAllText(knownHosts, $"[127.0.0.1]:{Port} {SshKeys.Ed25519.PublicKey.ToOpenSshString()}\n");
        var args = SshArguments("-o", "UpdateHostKeys=yes", "alice+app@127.0.0.1", "true");
        args[args.IndexOf("StrictHostKeyChecking=no")] = "StrictHostKeyChecking=yes";
        args[args.IndexOf("UserKnownHostsFile=/dev/null")] = "UserKnownHostsFile=" + knownHosts;
        var result = await Processes.RunAsync("ssh", args, Timeout);
        Assert.True(result.ExitCode == 0, result.StandardError);
        string learned = File.ReadAllText(knownHosts);
        Assert.Contains(SshKeys.Rsa.PublicKey.ToOpenSshString().Split(' ')[1], learned, StringComparison.Ordinal);
        // The target's own host key is Wire's business, never announced to the client.
        Assert.DoesNotContain(sshd.HostKey.ToOpenSshString().Split(' ')[1], learned, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replies_keep_the_order_of_requests_when_wire_answers_some_itself()
    {
        await using var connection = await RawClient.ConnectAsync(Port, "alice+app", Token);
        var ct = connection.Cancellation;

        // Global: a forward the target answers, then a keepalive Wire answers: the replies come in that order.
        int remotePort = FreePort();
        using (var forward = new SshWriter())
        {
            forward.Byte(SshMessage.GlobalRequest).String("tcpip-forward").Boolean(true).String("127.0.0.1").UInt32((uint)remotePort);
            await connection.Transport.SendAsync(forward.ToArray(), ct);
        }
        using (var keepalive = new SshWriter())
        {
            keepalive.Byte(SshMessage.GlobalRequest).String("keepalive@openssh.com").Boolean(true);
            await connection.Transport.SendAsync(keepalive.ToArray(), ct);
        }
        Assert.Equal(SshMessage.RequestSuccess, await connection.NextAsync(SshMessage.RequestSuccess, SshMessage.RequestFailure));
        Assert.Equal(SshMessage.RequestFailure, await connection.NextAsync(SshMessage.RequestSuccess, SshMessage.RequestFailure));

        // Channel: pty-req (the target answers), x11-req (refused by Wire for app), env (the target refuses the name):
        // success, failure, failure, in that order.
        uint channel = await connection.OpenSessionAsync();
        using (var pty = new SshWriter())
        {
            pty.Byte(SshMessage.ChannelRequest).UInt32(channel).String("pty-req").Boolean(true).String("xterm").UInt32(80).UInt32(24).UInt32(0).UInt32(0)
                .String(""u8);
            await connection.Transport.SendAsync(pty.ToArray(), ct);
        }
        using (var x11 = new SshWriter())
        {
            x11.Byte(SshMessage.ChannelRequest).UInt32(channel).String("x11-req").Boolean(true).Boolean(false).String("MIT-MAGIC-COOKIE-1")
                .String("00112233445566778899aabbccddeeff").UInt32(0);
            await connection.Transport.SendAsync(x11.ToArray(), ct);
        }
        using (var env = new SshWriter())
        {
            env.Byte(SshMessage.ChannelRequest).UInt32(channel).String("env").Boolean(true).String("NOT_ACCEPTED").String("x");
            await connection.Transport.SendAsync(env.ToArray(), ct);
        }
        Assert.Equal(SshMessage.ChannelSuccess, await connection.NextAsync(SshMessage.ChannelSuccess, SshMessage.ChannelFailure));
        Assert.Equal(SshMessage.ChannelFailure, await connection.NextAsync(SshMessage.ChannelSuccess, SshMessage.ChannelFailure));
        Assert.Equal(SshMessage.ChannelFailure, await connection.NextAsync(SshMessage.ChannelSuccess, SshMessage.ChannelFailure));
    }

    [Fact]
    public async Task After_no_more_sessions_a_new_session_is_refused()
    {
        await using var connection = await RawClient.ConnectAsync(Port, "alice+app", Token);
        await connection.OpenSessionAsync();
        using (var request = new SshWriter())
        {
            request.Byte(SshMessage.GlobalRequest).String("no-more-sessions@openssh.com").Boolean(false);
            await connection.Transport.SendAsync(request.ToArray(), connection.Cancellation);
        }
        var failure = await connection.OpenAsync("session");
        Assert.Equal(SshMessage.ChannelOpenFailure, failure.Span[0]);
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32BigEndian(failure.Span[5..]));
        // Other channels are still fine.
        using var echo = new EchoServer();
        using var target = new SshWriter();
        target.String("127.0.0.1").UInt32((uint)echo.Port).String("127.0.0.1").UInt32(1234);
        var opened = await connection.OpenAsync("direct-tcpip", target.ToArray());
        Assert.Equal(SshMessage.ChannelOpenConfirmation, opened.Span[0]);
    }

    // ---- helpers ----

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string failure)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException(failure);
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Waits until something listens on the port (ssh -L, or sshd for -R).</summary>
    private static Task WaitForListenerAsync(int port, BackgroundProcess ssh) => WaitUntilAsync(async () =>
    {
        if (ssh.HasExited)
        {
            throw new InvalidOperationException("ssh ended: " + ssh.Output);
        }
        try
        {
            using var probe = new TcpClient();
            await probe.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }, "nothing listens on port " + port);

    /// <summary>Sends random bytes and checks the same bytes come back.</summary>
    private static async Task EchoRoundTripAsync(IPEndPoint endPoint, int length, int seed, bool halfClose = true)
    {
        byte[] sent = new byte[length];
        new Random(seed).NextBytes(sent);
        using var client = new TcpClient();
        await client.ConnectAsync(endPoint);
        var stream = client.GetStream();
        using var cts = new CancellationTokenSource(Timeout);
        var writing = Task.Run(async () =>
        {
            await stream.WriteAsync(sent, cts.Token);
            if (halfClose)
            {
                client.Client.Shutdown(SocketShutdown.Send);
            }
        });
        byte[] received = new byte[length];
        int total = 0;
        while (total < length)
        {
            int n = await stream.ReadAsync(received.AsMemory(total), cts.Token);
            Assert.True(n > 0, $"the connection ended after {total} of {length} bytes");
            total += n;
        }
        await writing;
        Assert.Equal(SHA256.HashData(sent), SHA256.HashData(received));
    }

    /// <summary>A TCP (or Unix socket) server that sends back what it gets and closes after the peer's EOF.</summary>
    private sealed class EchoServer : IDisposable
    {
        private readonly Socket _listener;
        private readonly CancellationTokenSource _stop = new();
        private int _connections;

        public EchoServer(string? unixPath = null)
        {
            if (unixPath is null)
            {
                _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            }
            else
            {
                _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                _listener.Bind(new UnixDomainSocketEndPoint(unixPath));
            }
            _listener.Listen(16);
            _ = AcceptAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

        public int Connections => Volatile.Read(ref _connections);

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptAsync(_stop.Token);
                    Interlocked.Increment(ref _connections);
                    _ = EchoAsync(socket);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Stopped.
            }
        }

        private async Task EchoAsync(Socket socket)
        {
            using (socket)
            {
                byte[] buffer = new byte[64 * 1024];
                try
                {
                    while (true)
                    {
                        int n = await socket.ReceiveAsync(buffer, _stop.Token);
                        if (n == 0)
                        {
                            socket.Shutdown(SocketShutdown.Send);
                            return;
                        }
                        await socket.SendAsync(buffer.AsMemory(0, n), _stop.Token);
                    }
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    // The peer or the test went away.
                }
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Dispose();
            _stop.Dispose();
        }
    }

    /// <summary>Wire's own client role, logged in to Wire with the token, for messages OpenSSH does not send on request.</summary>
    private sealed class RawClient : IAsyncDisposable
    {
        private readonly WirePipe _pipe;
        private readonly CancellationTokenSource _cts = new(Timeout);
        private uint _nextChannel;

        private RawClient(WirePipe pipe, SshTransport transport)
        {
            _pipe = pipe;
            Transport = transport;
        }

        public SshTransport Transport { get; }

        public CancellationToken Cancellation => _cts.Token;

        public static async Task<RawClient> ConnectAsync(int port, string user, string token)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, port);
            var pipe = WirePipes.FromSocket(socket, "ssh-raw-client");
            var transport = new SshTransport(pipe.Pipe, new SshTransportOptions { VerifyHostKey = _ => true }, isServer: false);
            var client = new RawClient(pipe, transport);
            await transport.HandshakeAsync(client.Cancellation);
            await SshUserAuthClient.AuthenticateAsync(transport, user, key: null, password: token, client.Cancellation);
            return client;
        }

        /// <summary>The next message of one of <paramref name="types"/>, skipping others (host key announcements, window adjustments).</summary>
        public async Task<byte> NextAsync(params byte[] types) => (await NextMessageAsync(types)).Span[0];

        private async Task<ReadOnlyMemory<byte>> NextMessageAsync(params byte[] types)
        {
            while (true)
            {
                var message = await Transport.ReceiveAsync(Cancellation);
                if (types.Contains(message.Span[0]))
                {
                    return message.ToArray();
                }
            }
        }

        /// <summary>Opens a channel and returns the confirmation or failure.</summary>
        public async Task<ReadOnlyMemory<byte>> OpenAsync(string type, byte[]? extra = null)
        {
            using var open = new SshWriter();
            open.Byte(SshMessage.ChannelOpen).String(type).UInt32(_nextChannel++).UInt32(1 << 20).UInt32(32 * 1024).Raw(extra ?? []);
            await Transport.SendAsync(open.ToArray(), Cancellation);
            return await NextMessageAsync(SshMessage.ChannelOpenConfirmation, SshMessage.ChannelOpenFailure);
        }

        /// <summary>Opens a session channel; Wire's number for it.</summary>
        public async Task<uint> OpenSessionAsync()
        {
            var reply = await OpenAsync("session");
            Assert.Equal(SshMessage.ChannelOpenConfirmation, reply.Span[0]);
            return BinaryPrimitives.ReadUInt32BigEndian(reply.Span[5..]);
        }

        public async ValueTask DisposeAsync()
        {
            await Transport.TryDisconnectAsync(SshDisconnectReason.ByApplication, "done");
            await _pipe.Pipe.Output.CompleteAsync();
            await Transport.DisposeAsync();
            _pipe.Dispose();
            _cts.Dispose();
        }
    }
}
