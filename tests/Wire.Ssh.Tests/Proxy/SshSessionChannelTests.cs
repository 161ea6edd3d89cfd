using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Renci.SshNet;
using Wire.Ssh.Tests.Infrastructure;
using Wire.Ssh.Tests.Keys;

namespace Wire.Ssh.Tests.Proxy;

/// <summary>
/// Session channels through Wire end to end, client -> Wire -> real sshd, with what people actually run: an interactive
/// shell on a pty (in tmux, and under script), window changes, environment variables, exit statuses and signals, break,
/// scp (legacy and SFTP mode), sftp with large files, SSH.NET's SFTP client, and several channels at once. Every check
/// looks at output computed on the target (<c>$((6*7))</c> and the like), so an echo of the typed text cannot pass.
/// </summary>
public sealed class SshSessionChannelTests(SshdFixture sshd) : WireSshTestBase(sshd), IClassFixture<SshdFixture>
{

    // ---- interactive shells on a pty ----

    [Fact]
    public async Task An_interactive_shell_in_tmux_gets_a_pty_its_size_and_window_changes()
    {
        // The pane runs ssh and then says how it ended (tmux's own pane_dead_status proved unreliable: it once left ssh a
        // zombie it never reaped).
        await using var tmux = await Tmux.StartAsync(SshCommandLine("-tt", "alice+app@127.0.0.1") + "; echo ssh-exited-$?", 100, 30);

        await tmux.TypeLineAsync("export PS1='wire$ '");
        await tmux.TypeLineAsync("echo result-$((6*7))");
        await tmux.WaitForScreenAsync(s => s.Contains("result-42", StringComparison.Ordinal), Timeout, "result-42 " + Sshd.Log);

        await tmux.TypeLineAsync("echo tty-$(tty)");
        string screen = await tmux.WaitForScreenAsync(s => Regex.IsMatch(s, @"tty-/dev/pts/\d+"), Timeout, "tty-/dev/pts/N");
        Assert.DoesNotContain("tty-not a tty", screen, StringComparison.Ordinal);

        // pty-req carried the pane's size.
        await tmux.TypeLineAsync("echo size-$(stty size | tr ' ' x)");
        await tmux.WaitForScreenAsync(s => s.Contains("size-30x100", StringComparison.Ordinal), Timeout, "size-30x100");

        // window-change carries the new one: ssh gets SIGWINCH when tmux resizes the pane. The request may land after the
        // next command line, so ask again (with a fresh marker) until the new size shows or time is up.
        await tmux.ResizeAsync(120, 40);
        var deadline = DateTime.UtcNow + Timeout;
        string seen = "";
        for (int attempt = 0; ; attempt++)
        {
            await tmux.TypeLineAsync($"echo resized{attempt}-$(stty size | tr ' ' x)");
            var marker = new Regex($@"resized{attempt}-(\d+x\d+)");
            screen = await tmux.WaitForScreenAsync(s => marker.IsMatch(s), Timeout, $"resized{attempt}-");
            seen = marker.Match(screen).Groups[1].Value;
            if (seen == "40x120" || DateTime.UtcNow > deadline)
            {
                break;
            }
            await Task.Delay(500);
        }
        Assert.True(seen == "40x120", $"stty size after the resize: {seen}\n{screen}\n{Sshd.Log}");

        // The shell's exit status comes back as ssh's own, and the pane's ssh ends.
        await tmux.TypeLineAsync("exit $((2+3))");
        screen = await tmux.WaitForScreenAsync(s => s.Contains("ssh-exited-", StringComparison.Ordinal), Timeout, "ssh-exited-");
        Assert.True(screen.Contains("ssh-exited-5", StringComparison.Ordinal), $"{screen}\n{Sshd.Log}");
    }

    [Fact]
    public async Task A_shell_under_script_runs_typed_commands_on_a_pty()
    {
        using var script = new BackgroundProcess("script", ["-qec", SshCommandLine("-tt", "alice+app@127.0.0.1"), "/dev/null"],
            new Dictionary<string, string> { ["TERM"] = "dumb" });
        await script.WriteAsync("echo pty-$((7*6)) $(tty)\n");
        string output = await script.WaitForOutputAsync(o => Regex.IsMatch(o, @"pty-42 /dev/pts/\d+"), Timeout);
        await script.WriteAsync("exit 4\n");
        int exit = await script.WaitForExitAsync(Timeout);
        Assert.True(exit == 4, $"script ended with {exit}: {script.Output}\n{Sshd.Log}");
        Assert.Contains("pty-42", output, StringComparison.Ordinal);
    }

    // ---- environment ----

    [Fact]
    public async Task Environment_variables_from_SetEnv_and_SendEnv_reach_the_target()
    {
        var set = await Processes.RunAsync("ssh", SshArguments("-o", "SetEnv=WIRE_TEST_COLOR=blue", "alice+app@127.0.0.1",
            "echo \"$WIRE_TEST_COLOR-${#WIRE_TEST_COLOR}\""), Timeout);
        Assert.True(set.ExitCode == 0, set.StandardError + Sshd.Log);
        Assert.Equal("blue-4\n", set.StandardOutput);

        // SendEnv takes the variable from ssh's own environment.
        var sent = await Processes.RunAsync("env", ["WIRE_TEST_SHAPE=circle", "ssh", .. SshArguments("-o", "SendEnv=WIRE_TEST_SHAPE",
            "alice+app@127.0.0.1", "echo \"$WIRE_TEST_SHAPE-${#WIRE_TEST_SHAPE}\"")], Timeout);
        Assert.True(sent.ExitCode == 0, sent.StandardError + Sshd.Log);
        Assert.Equal("circle-6\n", sent.StandardOutput);

        // With a pty too (env requests come before pty-req and shell/exec on the same channel).
        var tty = await Processes.RunAsync("ssh", SshArguments("-tt", "-o", "SetEnv=WIRE_TEST_COLOR=green", "alice+app@127.0.0.1",
            "echo \"$WIRE_TEST_COLOR-${#WIRE_TEST_COLOR}\""), Timeout);
        Assert.True(tty.ExitCode == 0, tty.StandardError + Sshd.Log);
        Assert.Contains("green-5", tty.StandardOutput, StringComparison.Ordinal);

        // sshd itself refuses what its AcceptEnv does not list: the request went there, it was not answered by Wire.
        var refused = await Processes.RunAsync("ssh", SshArguments("-o", "SetEnv=OTHER_COLOR=red", "alice+app@127.0.0.1",
            "echo \"[${OTHER_COLOR:-unset}]\""), Timeout);
        Assert.True(refused.ExitCode == 0, refused.StandardError + Sshd.Log);
        Assert.Equal("[unset]\n", refused.StandardOutput);
    }

    // ---- exit status and signals ----

    [Fact]
    public async Task An_exit_status_comes_back_through_a_pty()
    {
        var result = await Processes.RunAsync("ssh", SshArguments("-tt", "alice+app@127.0.0.1", "echo tty-$(tty | cut -c1-9); exit $((3+4))"), Timeout);
        Assert.True(result.ExitCode == 7, $"{result.ExitCode}: {result.StandardOutput} {result.StandardError}\n{Sshd.Log}");
        Assert.Contains("tty-/dev/pts/", result.StandardOutput, StringComparison.Ordinal);
        // A pty turns \n into \r\n on the way out: the output went through the target's terminal.
        Assert.Contains("\r\n", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exit_signal_break_and_signal_requests_are_relayed_with_their_replies()
    {
        await using var client = await RawSshClient.ConnectAsync(Port, "alice+app", keyPath: Keys.PathOf("alice"));

        // exit-signal through a pty: the shell kills itself.
        var killed = await client.OpenSessionAsync();
        Assert.True(await client.RequestAsync(killed, "pty-req", w => w.String("xterm").UInt32(80).UInt32(24).UInt32(0).UInt32(0).String([0])),
            "pty-req was refused");
        Assert.True(await client.RequestAsync(killed, "exec", w => w.String("kill -TERM $$")), "exec was refused");
        await client.WaitAsync(killed, c => c.Closed, "the close of the killed command");
        Assert.True(killed.ExitSignal == "TERM", $"exit-signal {killed.ExitSignal}, exit-status {killed.ExitStatus}\n{Sshd.Log}");
        Assert.Null(killed.ExitStatus);

        // break: sshd sends one to the pty (tcsendbreak) and says yes; without a pty it says no. Either answer comes back
        // to this channel only because Wire relays the request and readdresses the reply.
        var shell = await client.OpenSessionAsync();
        Assert.True(await client.RequestAsync(shell, "pty-req", w => w.String("xterm").UInt32(80).UInt32(24).UInt32(0).UInt32(0).String([0])),
            "pty-req was refused");
        Assert.True(await client.RequestAsync(shell, "shell", _ => { }), "shell was refused");
        var plain = await client.OpenSessionAsync();
        Assert.True(await client.RequestAsync(plain, "exec", w => w.String("echo running-$((5*5)) $$; exec sleep 25")), "exec was refused");
        await client.WaitAsync(plain, c => Regex.IsMatch(c.Output.ToString(), @"running-25 \d+\n"), "running-25");
        int pid = int.Parse(Regex.Match(plain.Output.ToString(), @"running-25 (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        try
        {
            Assert.True(await client.RequestAsync(shell, "break", w => w.UInt32(300)), "break on the pty was refused\n" + Sshd.Log);
            Assert.False(await client.RequestAsync(plain, "break", w => w.UInt32(300)), "break without a pty was accepted");

            // The shell still works after the break.
            await client.SendDataAsync(shell, "echo after-break-$((6*7)); exit 6\n");
            await client.WaitAsync(shell, c => c.Closed, "the shell's close");
            Assert.Contains("after-break-42", shell.Output.ToString(), StringComparison.Ordinal);
            Assert.Equal((uint?)6, shell.ExitStatus);

            // signal: sshd delivers it to the command's process group, which dies of it (sleep 25 would outlast the wait).
            // As root it refuses (OpenSSH skips privilege separation after a root login, and signals need it): the
            // refusal is sshd's, in its log, and comes back as the reply.
            int refusals = Count(Sshd.Log, SignalRefusal);
            bool signalled = await client.RequestAsync(plain, "signal", w => w.String("KILL"));
            if (TargetIsRoot)
            {
                Assert.False(signalled, "sshd accepted a signal for a root session");
                await WaitForAsync(() => Count(Sshd.Log, SignalRefusal) > refusals, "sshd's refusal of the signal");
                return;
            }
            Assert.True(signalled, "signal was refused\n" + Sshd.Log);
            await client.WaitAsync(plain, c => c.Closed, "the close of the signalled command");
            Assert.True(plain.ExitSignal == "KILL", $"exit-signal {plain.ExitSignal}, exit-status {plain.ExitStatus}\n{Sshd.Log}");
        }
        finally
        {
            if (!plain.Closed)
            {
                // The command (exec'd sleep) still runs: end it here.
                KillIfRunning(pid);
            }
        }
    }

    private const string SignalRefusal = "session signalling requires privilege separation";

    private bool TargetIsRoot => Sshd.UserName == "root";

    private static int Count(string text, string what) => (text.Length - text.Replace(what, "", StringComparison.Ordinal).Length) / what.Length;

    private static void KillIfRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            process.Kill();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            // Already gone.
        }
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what} did not happen within {Timeout}");
            }
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task SshNet_cancels_a_running_command_with_a_signal()
    {
        using var directory = new TempDirectory();
        using var client = new SshClient(new ConnectionInfo("127.0.0.1", Port, "alice+app", new PasswordAuthenticationMethod("alice+app", Token)));
        using var cts = new CancellationTokenSource(Timeout);
        await client.ConnectAsync(cts.Token);

        // TERM, caught by a trap on the target: its exit code and output come back.
        string pids = Path.Combine(directory.Path, "pids");
        using (var trapped = client.CreateCommand($"trap 'echo trapped-$((40+2)); exit 9' TERM; sleep 25 & echo $$ $! > {pids}.new; mv {pids}.new {pids}; wait"))
        {
            var run = trapped.ExecuteAsync(cts.Token);
            await WaitForAsync(() => File.Exists(pids), "the command's start");
            int refusals = Count(Sshd.Log, SignalRefusal);
            var watch = Stopwatch.StartNew();
            try
            {
                trapped.CancelAsync(forceKill: false, millisecondsTimeout: TargetIsRoot ? 2000 : 15000);
                await AwaitCancelledCommandAsync(run);
            }
            finally
            {
                if (TargetIsRoot || trapped.ExitStatus != 9)
                {
                    // sshd refuses signals for root sessions (no privilege separation after a root login): SSH.NET gives up
                    // waiting, and the test ends what it started (so too when the signal did not work).
                    foreach (string pid in File.ReadAllText(pids).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        KillIfRunning(int.Parse(pid, CultureInfo.InvariantCulture));
                    }
                }
            }
            if (TargetIsRoot)
            {
                await WaitForAsync(() => Count(Sshd.Log, SignalRefusal) > refusals, "sshd's refusal of the signal");
                return;
            }
            Assert.True(trapped.ExitStatus == 9, $"exit {trapped.ExitStatus}, signal {trapped.ExitSignal}: {trapped.Result} {trapped.Error}\n{Sshd.Log}");
            Assert.Contains("trapped-42", trapped.Result, StringComparison.Ordinal);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(15), $"the command took {watch.Elapsed} to end");
        }

        // KILL: the command dies of it and exit-signal says so.
        File.Delete(pids);
        using (var killed = client.CreateCommand($"touch {pids}; sleep 25"))
        {
            var run = killed.ExecuteAsync(cts.Token);
            await WaitForAsync(() => File.Exists(pids), "the command's start");
            killed.CancelAsync(forceKill: true, millisecondsTimeout: 15000);
            await AwaitCancelledCommandAsync(run);
            Assert.True(killed.ExitSignal == "KILL", $"exit {killed.ExitStatus}, signal {killed.ExitSignal}\n{Sshd.Log}");
        }
    }

    private static async Task AwaitCancelledCommandAsync(Task run)
    {
        try
        {
            await run.WaitAsync(Timeout);
        }
        catch (OperationCanceledException)
        {
            // SSH.NET reports a cancelled command so; its exit code or signal is set all the same.
        }
    }

    // ---- file transfer ----

    [Theory]
    [InlineData("-O")]
    [InlineData("-s")]
    public async Task Scp_copies_a_file_there_and_back(string mode)
    {
        using var local = new TempDirectory();
        using var remote = new TempDirectory();
        string source = Path.Combine(local.Path, "source.bin");
        string sent = WriteRandomFile(source, 5 << 20, seed: 5);
        string there = Path.Combine(remote.Path, "copy.bin");
        string back = Path.Combine(local.Path, "back.bin");

        var up = await Processes.RunAsync("scp", ScpArguments(mode, "-q", source, "alice+app@127.0.0.1:" + there), Timeout);
        Assert.True(up.ExitCode == 0, $"scp {mode} up: {up.StandardError}\n{Sshd.Log}");
        Assert.Equal(sent, Sha256(there));

        var down = await Processes.RunAsync("scp", ScpArguments(mode, "-q", "alice+app@127.0.0.1:" + there, back), Timeout);
        Assert.True(down.ExitCode == 0, $"scp {mode} down: {down.StandardError}\n{Sshd.Log}");
        Assert.Equal(sent, Sha256(back));
    }

    [Fact]
    public async Task Sftp_puts_and_gets_100_MiB()
    {
        using var local = new TempDirectory();
        using var remote = new TempDirectory();
        string source = Path.Combine(local.Path, "source.bin");
        string sent = WriteRandomFile(source, 100 << 20, seed: 100);
        string there = Path.Combine(remote.Path, "copy.bin");
        string back = Path.Combine(local.Path, "back.bin");
        string batch = local.Write("batch", $"put {source} {there}\nget {there} {back}\n");

        var result = await Processes.RunAsync("sftp", ScpArguments("-b", batch, "alice+app@127.0.0.1"), TimeSpan.FromSeconds(120));
        Assert.True(result.ExitCode == 0, $"sftp: {result.StandardOutput} {result.StandardError}\n{Sshd.Log}");
        Assert.Equal(sent, Sha256(there));
        Assert.Equal(sent, Sha256(back));
    }

    [Fact]
    public async Task SshNet_sftp_uploads_lists_downloads_and_deletes()
    {
        using var remote = new TempDirectory();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var client = new SftpClient(new ConnectionInfo("127.0.0.1", Port, "alice+app", new PasswordAuthenticationMethod("alice+app", Token)));
        await client.ConnectAsync(cts.Token);

        byte[] data = new byte[10 << 20];
        new Random(10).NextBytes(data);
        string path = remote.Path + "/upload.bin";
        using (var upload = new MemoryStream(data))
        {
            await client.UploadFileAsync(upload, path, cts.Token);
        }
        Assert.Equal(Convert.ToHexString(SHA256.HashData(data)), Sha256(path));

        var listed = client.ListDirectory(remote.Path).Where(f => f.IsRegularFile).Select(f => (f.Name, f.Length)).ToList();
        Assert.Equal([("upload.bin", (long)data.Length)], listed);

        using (var download = new MemoryStream())
        {
            await client.DownloadFileAsync(path, download, cts.Token);
            Assert.Equal(Convert.ToHexString(SHA256.HashData(data)), Convert.ToHexString(SHA256.HashData(download.ToArray())));
        }

        await client.DeleteFileAsync(path, cts.Token);
        Assert.False(File.Exists(path), "the file is still on the target");
        Assert.False(await client.ExistsAsync(path, cts.Token));
    }

    // ---- several channels ----

    [Fact]
    public async Task SshNet_runs_five_commands_at_once_on_one_connection()
    {
        using var directory = new TempDirectory();
        using var client = new SshClient(new ConnectionInfo("127.0.0.1", Port, "alice+app", new PasswordAuthenticationMethod("alice+app", Token)));
        using var cts = new CancellationTokenSource(Timeout);
        await client.ConnectAsync(cts.Token);

        // Each command marks itself started and waits (at most 20 s) until all five have: they finish only if all five
        // channels are open and running side by side.
        string dir = directory.Path;
        var commands = Enumerable.Range(1, 5).Select(i => client.CreateCommand(
            $"touch {dir}/started-{i}; n=0; while [ $(ls {dir} | wc -l) -lt 5 ] && [ $n -lt 200 ]; do sleep 0.1; n=$((n+1)); done; " +
            $"echo value-{i}-$(({i}*{i}*{i})) $(ls {dir} | wc -l); exit {i}")).ToList();
        try
        {
            await Task.WhenAll(commands.Select(c => c.ExecuteAsync(cts.Token)));
            for (int i = 1; i <= 5; i++)
            {
                var command = commands[i - 1];
                Assert.True(command.Result == $"value-{i}-{i * i * i} 5\n", $"command {i}: {command.Result} {command.Error}\n{Sshd.Log}");
                Assert.Equal(i, command.ExitStatus);
            }
        }
        finally
        {
            foreach (var command in commands)
            {
                command.Dispose();
            }
        }
    }

    // ---- helpers ----

    /// <summary>Writes <paramref name="length"/> seeded random bytes; their SHA-256 (hex).</summary>
    private static string WriteRandomFile(string path, int length, int seed)
    {
        var random = new Random(seed);
        byte[] chunk = new byte[1 << 20];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using (var file = File.Create(path))
        {
            for (int left = length; left > 0; left -= chunk.Length)
            {
                int n = Math.Min(left, chunk.Length);
                random.NextBytes(chunk.AsSpan(0, n));
                file.Write(chunk, 0, n);
                hash.AppendData(chunk, 0, n);
            }
        }
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    private static string Sha256(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(file));
    }
}
