using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Renci.SshNet;
using Wire.Ssh.Proxy;
using Wire.Ssh.Tests.Infrastructure;
using Wire.Ssh.Tests.Keys;

namespace Wire.Ssh.Tests.Proxy;

/// <summary>
/// Forwarding through Wire to a real sshd: ssh -L, -W and -R (a chosen port and port 0), SSH.NET's local and remote
/// forwarded ports, Unix sockets, the agent and X11, each refused where the target does not enable it; global requests
/// Wire answers itself (host keys for UpdateHostKeys, keepalives, no-more-sessions) and replies kept in order.
/// Three targets on the same sshd: <c>app</c> (the default: TCP both ways), <c>open</c> (everything), <c>locked</c> (nothing).
/// </summary>
public sealed class SshForwardingTests(SshdFixture sshd) : WireSshTestBase(sshd,
    ("app", SshForwarding.Local | SshForwarding.Remote),
    ("open", SshForwarding.Local | SshForwarding.Remote | SshForwarding.Agent | SshForwarding.X11 | SshForwarding.StreamLocal),
    ("locked", SshForwarding.None)), IClassFixture<SshdFixture>
{
    private readonly TempDirectory _directory = new();

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }


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
        var allocated = new Regex(@"Allocated port (\d+) for remote forward");
        string port = allocated.Match(await ssh.WaitForOutputAsync(allocated.IsMatch, Timeout)).Groups[1].Value;
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
        await ssh.WaitForOutputAsync(output => output.Contains("session-42", StringComparison.Ordinal), Timeout);
        Assert.Equal(0, echo.Connections);
    }

    [Fact]
    public async Task Agent_forwarding_passes_only_where_enabled()
    {
        string socket = Path.Combine(_directory.Path, "agent.sock");
        using var agent = new BackgroundProcess("ssh-agent", ["-D", "-a", socket]);
        await WaitUntilAsync(() => Task.FromResult(File.Exists(socket)), "ssh-agent did not start");
        var added = await Processes.RunAsync("env", ["SSH_AUTH_SOCK=" + socket, "ssh-add", Keys.PathOf("alice")], Timeout);
        Assert.True(added.ExitCode == 0, added.StandardError);
        string fingerprint = Keys.PublicKey("alice").Fingerprint;

        // With the target's agent forwarding enabled, ssh-add on the target lists the client's key through Wire.
        var open = await Processes.RunAsync("ssh", SshArguments("-A", "-o", "IdentityAgent=" + socket, "alice+open@127.0.0.1", "ssh-add -l"), Timeout);
        Assert.True(open.ExitCode == 0, open.StandardError + Sshd.Log);
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
            await ssh.WaitForOutputAsync(output => output.Contains("Unix socket forwarding is not enabled for target app", StringComparison.Ordinal), Timeout);
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
        Assert.DoesNotContain(Sshd.HostKey.ToOpenSshString().Split(' ')[1], learned, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replies_keep_the_order_of_requests_when_wire_answers_some_itself()
    {
        await using var client = await RawSshClient.ConnectAsync(Port, "alice+app", password: Token);

        // Global: a forward the target answers, then a keepalive Wire answers: the replies come in that order.
        await client.SendGlobalRequestAsync("tcpip-forward", wantReply: true, w => w.String("127.0.0.1").UInt32((uint)FreePort()));
        await client.SendGlobalRequestAsync("keepalive@openssh.com", wantReply: true);
        await client.WaitAsync(() => client.GlobalReplies.Count == 2, "two global replies");
        Assert.Equal([true, false], client.GlobalReplies);

        // Channel: pty-req (the target answers), x11-req (refused by Wire for app), env (the target refuses the name), all
        // sent before any reply: success, failure, failure, in that order.
        var channel = await client.OpenSessionAsync();
        await client.SendRequestAsync(channel, "pty-req", wantReply: true, w => w.String("xterm").UInt32(80).UInt32(24).UInt32(0).UInt32(0).String([0]));
        await client.SendRequestAsync(channel, "x11-req", wantReply: true,
            w => w.Boolean(false).String("MIT-MAGIC-COOKIE-1").String("00112233445566778899aabbccddeeff").UInt32(0));
        await client.SendRequestAsync(channel, "env", wantReply: true, w => w.String("NOT_ACCEPTED").String("x"));
        await client.WaitAsync(channel, c => c.Replies.Count == 3, "three channel replies");
        Assert.Equal([true, false, false], channel.Replies);
    }

    [Fact]
    public async Task After_no_more_sessions_a_new_session_is_refused()
    {
        await using var client = await RawSshClient.ConnectAsync(Port, "alice+app", password: Token);
        await client.OpenSessionAsync();
        await client.SendGlobalRequestAsync("no-more-sessions@openssh.com", wantReply: false);
        var refused = await client.OpenAsync("session");
        Assert.Equal(1u, refused.OpenFailure);
        // Other channels are still fine.
        using var echo = new EchoServer();
        var forwarded = await client.OpenAsync("direct-tcpip", w => w.String("127.0.0.1").UInt32((uint)echo.Port).String("127.0.0.1").UInt32(1234));
        Assert.True(forwarded.Opened, $"direct-tcpip refused: {forwarded.OpenFailure}");
    }

    // ---- helpers ----

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
}
