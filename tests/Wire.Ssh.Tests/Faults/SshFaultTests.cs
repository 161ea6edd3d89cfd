using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Renci.SshNet;
using Wire.Ssh.Tests.Gateway;
using Wire.Ssh.Tests.Infrastructure;
using Wire.Ssh.Tests.Keys;
using Wire.Testing;

namespace Wire.Ssh.Tests.Faults;

/// <summary>
/// Faults under <c>wire run</c> with real OpenSSH on both sides: the target's sshd dies in the middle of a command's
/// output, a target accepts connections and never speaks, and the recorder's disk fails (DESIGN.md §4: the recorder's
/// failure is "as denied": exit status 126 and a <c>wire:</c> message on stderr). Each time the client learns of it in
/// bounded time, Wire logs it, and Wire goes on serving.
/// </summary>
public sealed class SshFaultTests(SshdFixture sshd) : IClassFixture<SshdFixture>
{
    private const string Token = "tok-alice-ssh-fault-51d2";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_targets_sshd_killed_mid_output_ends_the_client_with_an_error_and_wire_keeps_serving()
    {
        using var keys = new SshKeygen();
        var (wire, port) = await StartWireAsync(keys);
        await using var _ = wire;

        // The command says which sshd process serves it, then streams for minutes.
        var args = WireRunSsh.Ssh(port, keys.PathOf("alice"), "alice+app", "echo sshd=$PPID; exec seq 1 1000000000");
        args[Array.IndexOf(args, "LogLevel=ERROR")] = "LogLevel=INFO";
        using var ssh = new BackgroundProcess("ssh", args);
        string output = await ssh.WaitForOutputAsync(o => o.Contains("\n1000\n", StringComparison.Ordinal), Timeout);
        int pid = int.Parse(output.Split('\n').First(l => l.StartsWith("sshd=", StringComparison.Ordinal))[5..], CultureInfo.InvariantCulture);
        KillSshdSession(pid);

        var stopwatch = Stopwatch.StartNew();
        int exit = await ssh.WaitForExitAsync(TimeSpan.FromSeconds(15));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(15));
        // Not an exit status of a command that never finished: Wire disconnects the client (255), normally saying why.
        // (Now and then ssh reports only "Disconnected" or the broken connection: its own write can meet Wire's closed
        // socket first, as Wire closes without draining the client's input.)
        string said = string.Join('\n', ssh.Output.Split('\n').Where(l => l.Length > 0 && !char.IsAsciiDigit(l[0])));
        Assert.True(exit == 255, $"exit {exit}: {said}");
        Assert.True(said.Contains("wire: the target closed the connection", StringComparison.Ordinal)
            || said.Contains("Disconnected from", StringComparison.Ordinal) || said.Contains("Broken pipe", StringComparison.Ordinal)
            || said.Contains("Connection reset", StringComparison.Ordinal), said);
        await wire.WaitForAsync("target app ended the connection", TimeSpan.FromSeconds(10));

        var after = await Processes.RunAsync("ssh", WireRunSsh.Ssh(port, keys.PathOf("alice"), "alice+app", "echo still-serving"), Timeout);
        Assert.Equal("still-serving\n", after.StandardOutput);
    }

    [Fact]
    public async Task A_client_vanishing_mid_upload_ends_the_command_on_the_target()
    {
        using var keys = new SshKeygen();
        var (wire, port) = await StartWireAsync(keys);
        await using var _ = wire;

        // The command reads its stdin for ever; the client streams into it, then dies without closing anything.
        int pid;
        using (var ssh = new BackgroundProcess("ssh", WireRunSsh.Ssh(port, keys.PathOf("alice"), "alice+app", "echo pid=$$; exec cat > /dev/null")))
        {
            string output = await ssh.WaitForOutputAsync(o => o.Contains("pid=", StringComparison.Ordinal) && o.Contains('\n'), Timeout);
            pid = int.Parse(output.Split('\n').First(l => l.StartsWith("pid=", StringComparison.Ordinal))[4..], CultureInfo.InvariantCulture);
            await ssh.WriteAsync(new string('x', 1 << 20));
            Assert.True(Directory.Exists($"/proc/{pid}"), "the command is not running");
        }

        // Wire closes the target's session, so sshd ends the command instead of leaving it waiting for input.
        Assert.True(await Eventually.WaitAsync(() => !Directory.Exists($"/proc/{pid}")),
            $"the command (pid {pid}) was still running 10 s after its client vanished\n{wire.Output}");
        await wire.WaitForAsync("ssh session", TimeSpan.FromSeconds(10));

        var after = await Processes.RunAsync("ssh", WireRunSsh.Ssh(port, keys.PathOf("alice"), "alice+app", "echo still-serving"), Timeout);
        Assert.Equal("still-serving\n", after.StandardOutput);
    }

    [Fact]
    public async Task A_target_that_accepts_and_never_speaks_fails_the_channel_within_the_connect_timeout()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var held = new List<Socket>();
        var accepting = AcceptAndHoldAsync(silent, held);
        int silentPort = ((IPEndPoint)silent.LocalEndpoint).Port;

        using var keys = new SshKeygen();
        var (wire, port) = await StartWireAsync(keys, extraTargets: $$"""
            , { "name": "hung", "host": "127.0.0.1", "port": {{silentPort}}, "username": "x", "privateKey": "{{sshd.ClientKeyPath}}",
                "knownHosts": "known_hosts" }
            """, limits: """ "limits": { "connectTimeout": "00:00:02" }, """);
        await using var _ = wire;
        try
        {
            var stopwatch = Stopwatch.StartNew();
            var args = WireRunSsh.Ssh(port, keys.PathOf("alice"), "alice+hung", "true");
            args[Array.IndexOf(args, "LogLevel=ERROR")] = "LogLevel=INFO";
            var result = await Processes.RunAsync("ssh", args, Timeout);
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(15), $"took {stopwatch.Elapsed}");
            Assert.Equal(255, result.ExitCode);
            Assert.Contains("target hung is unreachable", result.StandardError, StringComparison.Ordinal);
            Assert.True(held.Count >= 1, "Wire never reached the target");
            await wire.WaitForAsync("target hung is unreachable", TimeSpan.FromSeconds(10));

            var after = await Processes.RunAsync("ssh", WireRunSsh.Ssh(port, keys.PathOf("alice"), "alice+app", "echo still-serving"), Timeout);
            Assert.Equal("still-serving\n", after.StandardOutput);
        }
        finally
        {
            silent.Stop();
            await accepting;
            foreach (var socket in held)
            {
                socket.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_recorder_disk_that_fills_refuses_commands_as_denied_and_the_cut_recording_never_verifies()
    {
        using var disk = TmpfsMount.TryCreate(512 * 1024)
            ?? throw new InvalidOperationException("this test mounts a tmpfs: run it as root or with passwordless sudo (as .ci/run does)");
        using var keys = new SshKeygen();
        File.WriteAllText(keys.PathOf("recording.key"), "ssh-fault-recording-key-0123456789abcdef0123\n");
        var (wire, port) = await StartWireAsync(keys, sections: $$"""
            "rules": [],
            "recording": { "directory": "{{disk.Path}}", "key": "file:recording.key" },
            """);
        await using var _ = wire;

        // One connection (SSH.NET, the token as password), many commands: each is a channel of the same session.
        using (var client = new SshClient(new ConnectionInfo("127.0.0.1", port, "alice+app", new PasswordAuthenticationMethod("alice+app", Token))))
        {
            await client.ConnectAsync(CancellationToken.None);
            using (var first = client.RunCommand("echo recorded"))
            {
                Assert.Equal("recorded\n", first.Result);
            }

            disk.Fill();

            // The failure shows at the recorder's next write; from then on every command is refused (bounded).
            string marker = Path.Combine(keys.Root, "ran");
            SshCommand refused;
            int attempt = 0;
            while (true)
            {
                Assert.True(attempt++ < 100, "no command was refused after the disk filled\n" + wire.Output);
                refused = client.RunCommand("echo ran-before-the-failure-showed");
                if (refused.ExitStatus != 0)
                {
                    break;
                }
                refused.Dispose();
                await Task.Delay(50);
            }
            AssertRefused(refused);
            refused.Dispose();
            for (int i = 0; i < 3; i++)
            {
                using var again = client.RunCommand($"touch {marker}");
                AssertRefused(again);
            }
            Assert.False(File.Exists(marker), "a refused command ran on the target");
        }

        await wire.WaitForAsync("failed; nothing more is recorded for this session", TimeSpan.FromSeconds(10));
        await wire.WaitForAsync("the recording failed; requests are refused", TimeSpan.FromSeconds(10));
        string cut = Assert.Single(Directory.GetFiles(disk.Path, "*.jsonl"));

        // Space again: new sessions run and are recorded; verify flags the cut file and accepts the new one.
        disk.Free();
        var after = await Processes.RunAsync("ssh", WireRunSsh.Ssh(port, keys.PathOf("alice"), "alice+app", "echo recorded-again"), Timeout);
        Assert.Equal("recorded-again\n", after.StandardOutput);
        string? good = null;
        Assert.True(await Eventually.WaitAsync(() =>
            (good = Directory.GetFiles(disk.Path, "*.jsonl").FirstOrDefault(f => f != cut && File.ReadAllText(f).Contains("\"type\":\"session.end\"", StringComparison.Ordinal))) is not null),
            "the new session's recording was not completed");

        await using var verify = WireProcess.Start("verify", disk.Path, "--config", keys.PathOf("wire.json"));
        Assert.Equal(1, await verify.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Matches($"BAD {System.Text.RegularExpressions.Regex.Escape(cut)}: record \\d+: truncated", verify.Output);
        Assert.Contains($"OK {good} (", verify.Output, StringComparison.Ordinal);
    }

    private static void AssertRefused(SshCommand command)
    {
        Assert.Equal(126, command.ExitStatus);
        Assert.Equal("wire: the session cannot be recorded; the request was not passed on\r\n", command.Error);
        Assert.Equal("", command.Result);
    }

    /// <summary>Kills the sshd process that serves one connection (and its privileged monitor, not the listener).</summary>
    private static void KillSshdSession(int pid)
    {
        using var process = Process.GetProcessById(pid);
        Assert.StartsWith("sshd", process.ProcessName, StringComparison.Ordinal);
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        int parent = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
        process.Kill();
        // The monitor of a privilege-separated session is an "sshd-session" (OpenSSH 9.8+) or an "sshd: user [priv]"
        // process; the listener is "sshd" with "-D" in its command line.
        string parentCommand = File.Exists($"/proc/{parent}/cmdline") ? File.ReadAllText($"/proc/{parent}/cmdline") : "";
        if (parentCommand.StartsWith("sshd-session", StringComparison.Ordinal) || parentCommand.Contains("[priv]", StringComparison.Ordinal))
        {
            using var monitor = Process.GetProcessById(parent);
            monitor.Kill();
        }
    }

    private static async Task AcceptAndHoldAsync(TcpListener listener, List<Socket> held)
    {
        while (true)
        {
            try
            {
                held.Add(await listener.AcceptSocketAsync());
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
        }
    }

    /// <summary><c>wire run</c> in front of the sshd fixture (target <c>app</c>), alice logging in with her key or the token.</summary>
    private async Task<(WireProcess Wire, int Port)> StartWireAsync(SshKeygen keys, string sections = "", string extraTargets = "", string limits = "")
    {
        keys.Generate("alice", "ed25519");
        File.WriteAllText(keys.PathOf("known_hosts"), sshd.KnownHostsLine + "\n");
        int port = WireSshHarness.FreePort();
        File.WriteAllText(keys.PathOf("wire.json"), $$"""
            {
              {{sections}}
              "identity": {
                "tokens": [ { "token": "{{Token}}", "subject": "alice", "groups": ["dev"] } ],
                "users": [ { "subject": "alice", "groups": ["dev"], "sshKeys": [ "{{keys.PublicLine("alice")}}" ] } ]
              },
              "ssh": {
                "listen": "127.0.0.1:{{port}}",
                {{limits}}
                "targets": [ { "name": "app", "host": "127.0.0.1", "port": {{sshd.Port}}, "username": "{{sshd.UserName}}",
                               "privateKey": "{{sshd.ClientKeyPath}}", "knownHosts": "known_hosts" } {{extraTargets}} ]
              },
              "shutdownTimeout": "00:00:02"
            }
            """);
        var wire = WireProcess.Start("run", "--config", keys.PathOf("wire.json"));
        await wire.WaitForAsync("Listening for ssh", TimeSpan.FromSeconds(30));
        return (wire, port);
    }
}
