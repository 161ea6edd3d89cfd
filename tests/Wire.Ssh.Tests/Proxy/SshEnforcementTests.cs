using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Wire.Enforcement;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Recording;
using Wire.Ssh.Tests.Infrastructure;

namespace Wire.Ssh.Tests.Proxy;

/// <summary>
/// Interactive shells, output masking and recording through Wire to a real sshd: a denied line typed at a prompt (also
/// when edited, pasted or completed) never runs; secrets printed by a command are masked, also when split across two
/// writes; files copied by sftp and scp are not touched; the session's records and its asciicast file are written,
/// masked, and verified.
/// </summary>
public sealed class SshEnforcementTests(SshdFixture sshd) : WireSshTestBase(sshd), IClassFixture<SshdFixture>
{
    // docs/detectors.md's AWS key vector, and a JWT.
    private const string AwsKey = "AKIAIOSFODNN7EXAMPLE";
    private const string Jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

    private readonly TempDirectory _directory = new();
    private readonly byte[] _recordingKey = RandomNumberGenerator.GetBytes(32);
    private readonly string _marker = "wire-denied-" + Guid.NewGuid().ToString("n")[..8];

    protected override WireEnforcement Enforcement => new()
    {
        Rules = new RuleSetProvider(RuleSet.Create(
        [
            new RuleDefinition { Name = "no-touch", Action = PolicyAction.Deny, Commands = ["touch /tmp/wire-denied-*"] },
            new RuleDefinition { Name = "secrets", Action = PolicyAction.Mask, Detectors = ["aws-key", "jwt", "pem", "card"] },
        ])),
        Recorder = new FileSessionRecorderFactory(new RecordingOptions { Directory = RecordingDirectory, Key = _recordingKey }, TimeProvider.System,
            NullLoggerFactory.Instance),
    };

    private string RecordingDirectory => Path.Combine(_directory.Path, "recordings");

    private string Denied => "/tmp/" + _marker;

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        File.Delete(Denied);
        _directory.Dispose();
    }

    [Fact]
    public async Task A_denied_line_typed_at_a_prompt_never_runs_however_it_was_typed()
    {
        await using var tmux = await Tmux.StartAsync(SshCommandLine("-tt", "alice+app@127.0.0.1") + "; echo ssh-exited-$?", 100, 30);
        await WaitForShellAsync(tmux);
        await tmux.TypeLineAsync("export PS1='wire$ '");
        await tmux.WaitForScreenAsync(s => s.Contains("wire$ ", StringComparison.Ordinal), Timeout, "the prompt");

        // Typed plainly.
        await tmux.TypeLineAsync($"touch {Denied}");
        await tmux.WaitForScreenAsync(s => s.Contains("wire: denied by rule no-touch", StringComparison.Ordinal), Timeout, "the denial");
        await WaitForDenialsAsync(1);

        // Typed with a typo fixed by cursor moves and an insert: "toch" -> Home, Right x2, "u".
        await tmux.WaitForScreenAsync(s => s.TrimEnd().EndsWith("wire$", StringComparison.Ordinal), Timeout, "a fresh prompt");
        await tmux.TypeAsync($"toch {Denied}");
        await tmux.KeysAsync("Home", "Right", "Right");
        await tmux.TypeAsync("u");
        await tmux.KeysAsync("Enter");
        await WaitForDenialsAsync(2);

        // Completed by the shell: "touc" + Tab gives "touch " (the echo tells Wire what the line became).
        await tmux.WaitForScreenAsync(s => s.TrimEnd().EndsWith("wire$", StringComparison.Ordinal), Timeout, "a fresh prompt");
        await tmux.TypeAsync("touc");
        await tmux.KeysAsync("Tab");
        await tmux.WaitForScreenAsync(s => s.TrimEnd().EndsWith("wire$ touch", StringComparison.Ordinal), Timeout, "the completion");
        await tmux.TypeAsync(Denied);
        await tmux.KeysAsync("Enter");
        await WaitForDenialsAsync(3);

        // Pasted (bracketed paste, as terminals send a paste to a shell that asks for it).
        await tmux.WaitForScreenAsync(s => s.TrimEnd().EndsWith("wire$", StringComparison.Ordinal), Timeout, "a fresh prompt");
        await tmux.KeysAsync("-l", "\u001b[200~touch " + Denied + "\u001b[201~");
        await tmux.KeysAsync("Enter");
        await WaitForDenialsAsync(4);

        // Allowed lines run, and the connection is still there.
        await tmux.WaitForScreenAsync(s => s.TrimEnd().EndsWith("wire$", StringComparison.Ordinal), Timeout, "a fresh prompt");
        await tmux.TypeLineAsync("echo after-$((6*7))");
        string screen = await tmux.WaitForScreenAsync(s => s.Contains("after-42", StringComparison.Ordinal), Timeout, "after-42");
        Assert.False(File.Exists(Denied), "a denied line ran:\n" + screen);

        // A known limit (docs/ssh.md): the rules read the line, not what the shell makes of it.
        await tmux.TypeLineAsync($"t=touch; $t {Denied}; echo indirection-$((1+1))");
        // The computed "indirection-2" is output, not the echo of the typed line: the command has run.
        await tmux.WaitForScreenAsync(s => s.Contains("indirection-2", StringComparison.Ordinal), Timeout, "the indirect command");
        Assert.True(File.Exists(Denied), "the variable indirection is a documented bypass; if Wire now catches it, update docs/ssh.md");
        await tmux.TypeLineAsync("exit");
        await tmux.WaitForScreenAsync(s => s.Contains("ssh-exited-", StringComparison.Ordinal), Timeout, "ssh's end");
    }

    [Fact]
    public async Task Lines_piped_into_a_shell_without_a_terminal_are_judged_one_by_one()
    {
        var result = await Processes.RunAsync("ssh", SshArguments("-T", "alice+app@127.0.0.1"), Timeout,
            standardInput: $"echo a-$((1+1))\ntouch {Denied}\necho b-$((2+2))\n");
        Assert.Equal("a-2\nb-4\n", result.StandardOutput);
        Assert.Contains("wire: denied by rule no-touch", result.StandardError, StringComparison.Ordinal);
        Assert.False(File.Exists(Denied));
    }

    [Fact]
    public async Task Secrets_in_command_output_are_masked_also_when_split_across_writes()
    {
        string file = Path.Combine(_directory.Path, "secrets.txt");
        File.WriteAllText(file, $"key={AwsKey}\ntoken={Jwt}\ncard=4111 1111 1111 1111\nplain text\n");
        var cat = await Processes.RunAsync("ssh", SshArguments("alice+app@127.0.0.1", "cat " + file), Timeout);
        Assert.True(cat.ExitCode == 0, cat.StandardError);
        Assert.Equal(File.ReadAllText(file).Length, cat.StandardOutput.Length);
        Assert.DoesNotContain(AwsKey, cat.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(Jwt[..40], cat.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("4111 1111 1111 1111", cat.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("plain text", cat.StandardOutput, StringComparison.Ordinal);

        // Two writes 300 ms apart (well past the 20 ms hold-back): the prefix seen first keeps masking into the second.
        var split = await Processes.RunAsync("ssh", SshArguments("alice+app@127.0.0.1",
            $"printf 'id {AwsKey[..8]}'; sleep 0.3; printf '{AwsKey[8..]} end\\n'; printf '{Jwt[..30]}' >&2; sleep 0.3; printf '{Jwt[30..]}\\n' >&2"), Timeout);
        Assert.Equal("id " + new string('*', AwsKey.Length) + " end\n", split.StandardOutput);
        Assert.Equal(new string('*', Jwt.Length) + "\n", split.StandardError);
    }

    [Fact]
    public async Task Files_copied_by_sftp_and_scp_are_never_masked()
    {
        string source = Path.Combine(_directory.Path, "source.txt");
        File.WriteAllText(source, string.Concat(Enumerable.Repeat($"{AwsKey} {Jwt} 4111 1111 1111 1111\n", 2000)));
        string expected = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(source)));
        foreach (var (tool, mode) in new[] { ("sftp", ""), ("scp", "-O"), ("scp", "-s") })
        {
            string back = Path.Combine(_directory.Path, $"back-{tool}{mode}.txt");
            string batch = Path.Combine(_directory.Path, "batch");
            File.WriteAllText(batch, $"get {source} {back}\n");
            var result = tool == "sftp"
                ? await Processes.RunAsync("sftp", ScpArguments("-b", batch, "alice+app@127.0.0.1"), Timeout)
                : await Processes.RunAsync("scp", ScpArguments(mode, "-q", "alice+app@127.0.0.1:" + source, back), Timeout);
            Assert.True(result.ExitCode == 0, $"{tool} {mode}: {result.StandardError}");
            Assert.Equal(expected, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(back))));
        }
    }

    [Fact]
    public async Task A_pty_session_is_recorded_as_an_asciicast_whose_hash_the_recording_holds()
    {
        await using (var tmux = await Tmux.StartAsync(SshCommandLine("-tt", "alice+app@127.0.0.1") + "; echo ssh-exited-$?", 90, 25))
        {
            await WaitForShellAsync(tmux);
            await tmux.TypeLineAsync($"echo {AwsKey[..4]}''{AwsKey[4..]} café-$((6*7))");
            await tmux.WaitForScreenAsync(s => s.Contains("café-42", StringComparison.Ordinal), Timeout, "the output");
            await tmux.ResizeAsync(110, 35);
            await tmux.TypeLineAsync("stty size");
            await tmux.WaitForScreenAsync(s => s.Contains("35 110", StringComparison.Ordinal), Timeout, "the new size");
            await tmux.TypeLineAsync($"touch {Denied}");
            await tmux.WaitForScreenAsync(s => s.Contains("denied by rule no-touch", StringComparison.Ordinal), Timeout, "the denial");
            await tmux.TypeLineAsync("exit");
            await tmux.WaitForScreenAsync(s => s.Contains("ssh-exited-", StringComparison.Ordinal), Timeout, "ssh's end");
        }

        string recording = await WaitForCompleteRecordingAsync();
        var verification = RecordingVerifier.VerifyFile(recording, _recordingKey);
        Assert.True(verification.Defect == RecordingDefect.None, verification.Detail);

        var records = File.ReadAllLines(recording).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal("ssh", records[0].GetProperty("protocol").GetString());
        Assert.Contains(records, r => r.GetProperty("type").GetString() == "command" && r.GetProperty("kind").GetString() == "pty");
        Assert.Contains(records, r => r.GetProperty("type").GetString() == "command" && r.GetProperty("kind").GetString() == "shell"
            && r.GetProperty("text").GetString() == $"touch {Denied}" && r.GetProperty("outcome").GetString() == "denied");
        Assert.DoesNotContain(AwsKey, File.ReadAllText(recording), StringComparison.Ordinal);

        var end = records[^1];
        Assert.Equal("session.end", end.GetProperty("type").GetString());
        var attachment = end.GetProperty("attachments").EnumerateObject().Single();
        string cast = Path.Combine(RecordingDirectory, records[0].GetProperty("session").GetString() + "." + attachment.Name);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(cast))), attachment.Value.GetString());

        // asciicast v2: a header, then [time, code, data] events in time order; output masked; the resize as an "r" event.
        var lines = File.ReadAllLines(cast);
        var header = JsonDocument.Parse(lines[0]).RootElement;
        Assert.Equal(2, header.GetProperty("version").GetInt32());
        Assert.Equal(90, header.GetProperty("width").GetInt32());
        Assert.Equal(25, header.GetProperty("height").GetInt32());
        double last = 0;
        var output = new System.Text.StringBuilder();
        var resizes = new List<string>();
        foreach (var line in lines.Skip(1))
        {
            var e = JsonDocument.Parse(line).RootElement;
            Assert.Equal(3, e.GetArrayLength());
            double time = e[0].GetDouble();
            Assert.True(time >= last, "events out of order");
            last = time;
            switch (e[1].GetString())
            {
                case "o":
                    output.Append(e[2].GetString());
                    break;
                case "r":
                    resizes.Add(e[2].GetString()!);
                    break;
                default:
                    Assert.Fail("unexpected event " + line);
                    break;
            }
        }
        Assert.Contains("café-42", output.ToString(), StringComparison.Ordinal);
        Assert.Contains(new string('*', AwsKey.Length), output.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(AwsKey, output.ToString(), StringComparison.Ordinal);
        Assert.Contains("110x35", resizes);

        if (File.Exists("/usr/bin/asciinema"))
        {
            // asciinema wants a terminal even to print a cast: script gives it one.
            var played = await Processes.RunAsync("script", ["-qec", "asciinema cat " + cast, "/dev/null"], Timeout);
            Assert.True(played.ExitCode == 0, played.StandardError);
            Assert.Contains("café-42", played.StandardOutput, StringComparison.Ordinal);
        }

        // An edited cast no longer verifies.
        File.AppendAllText(cast, "[99.0, \"o\", \"forged\"]\n");
        Assert.Equal(RecordingDefect.Edited, RecordingVerifier.VerifyFile(recording, _recordingKey).Defect);
    }

    /// <summary>Waits until the recording holds <paramref name="count"/> denied lines touching the marker file.</summary>
    private async Task WaitForDenialsAsync(int count)
    {
        var deadline = DateTime.UtcNow + Timeout;
        int seen = 0;
        while (DateTime.UtcNow < deadline)
        {
            seen = 0;
            foreach (var file in Directory.Exists(RecordingDirectory) ? Directory.GetFiles(RecordingDirectory, "*.jsonl") : [])
            {
                using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                using var reader = new StreamReader(stream);
                while (await reader.ReadLineAsync() is { } line)
                {
                    seen += line.Contains("\"outcome\":\"denied\"", StringComparison.Ordinal) && line.Contains(_marker, StringComparison.Ordinal) ? 1 : 0;
                }
            }
            if (seen >= count)
            {
                Assert.Equal(count, seen);
                return;
            }
            await Task.Delay(100);
        }
        var commands = Directory.GetFiles(RecordingDirectory, "*.jsonl").SelectMany(f =>
        {
            using var stream = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd().Split('\n').Where(l => l.Contains("\"command\"", StringComparison.Ordinal)).ToList();
        });
        throw new TimeoutException($"{seen} denied lines recorded, {count} expected:\n{string.Join("\n", commands)}");
    }

    /// <summary>Waits for the remote shell's first prompt: keys typed before it are read by the terminal, not by the shell's line editor.</summary>
    private static Task WaitForShellAsync(Tmux tmux) =>
        tmux.WaitForScreenAsync(s => s.TrimEnd().EndsWith('#') || s.TrimEnd().EndsWith('$'), Timeout, "the shell's prompt");

    private async Task<string> WaitForCompleteRecordingAsync()
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            foreach (var file in Directory.Exists(RecordingDirectory) ? Directory.GetFiles(RecordingDirectory, "*.jsonl") : [])
            {
                if (File.ReadAllText(file).Contains("\"session.end\"", StringComparison.Ordinal) && File.ReadAllText(file).Contains(".cast", StringComparison.Ordinal))
                {
                    return file;
                }
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("no complete recording with a cast in " + RecordingDirectory);
            }
            await Task.Delay(100);
        }
    }

}
