using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Renci.SshNet;
using Wire.Ssh.Keys;
using Wire.Ssh.Proxy;
using Wire.Ssh.Tests.Infrastructure;
using Wire.Ssh.Tests.Keys;

namespace Wire.Ssh.Tests.Proxy;

/// <summary>
/// Exec through Wire end to end: OpenSSH's ssh (and SSH.NET) log in to Wire as alice+app, Wire logs in to a real sshd
/// with its own key, and commands run there: stdout, stderr, exit codes, and bulk data with re-keying on both legs.
/// </summary>
public sealed class SshProxyTests(SshdFixture sshd) : WireSshTestBase(sshd), IClassFixture<SshdFixture>
{

    [Fact]
    public async Task Uname_runs_on_the_target_through_wire()
    {
        var direct = await Processes.RunAsync("uname", ["-a"], TimeSpan.FromSeconds(10));
        var result = await Processes.RunAsync("ssh", SshArguments("alice+app@127.0.0.1", "uname -a"), TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, result.StandardError + Sshd.Log);
        Assert.Equal(direct.StandardOutput, result.StandardOutput);
    }

    [Fact]
    public async Task Stdout_stderr_exit_codes_and_stdin_pass_through()
    {
        var result = await Processes.RunAsync("ssh", SshArguments("alice+app@127.0.0.1", "echo out; echo err >&2; read line; echo \"got $line\"; exit 3"),
            TimeSpan.FromSeconds(30), standardInput: "hello\n");
        Assert.Equal(3, result.ExitCode);
        Assert.Equal("out\ngot hello\n", result.StandardOutput);
        Assert.Contains("err", result.StandardError, StringComparison.Ordinal);

        // With one target the +app suffix may be left out.
        var plain = await Processes.RunAsync("ssh", SshArguments("alice@127.0.0.1", "exit 0"), TimeSpan.FromSeconds(30));
        Assert.Equal(0, plain.ExitCode);
    }

    [Fact]
    public async Task A_command_killed_by_a_signal_reports_it()
    {
        var result = await Processes.RunAsync("ssh", SshArguments("alice+app@127.0.0.1", "kill -TERM $$"), TimeSpan.FromSeconds(30));
        Assert.NotEqual(0, result.ExitCode);
    }

    [Fact]
    public async Task A_large_stream_flows_both_ways_with_re_keying_on_both_legs()
    {
        // sshd re-keys every MiB (RekeyLimit 1M in the fixture), and so does this ssh: dozens of re-exchanges on each leg.
        string ssh = string.Join(' ', SshArguments("-o", "RekeyLimit=1M", "alice+app@127.0.0.1").Select(a => "'" + a + "'"));
        var down = await Processes.RunAsync("bash", ["-c", $"ssh {ssh} 'head -c 1073741824 /dev/zero' | wc -c"], TimeSpan.FromSeconds(120));
        Assert.True(down.StandardOutput.Trim() == "1073741824", down.StandardError);
        var up = await Processes.RunAsync("bash", ["-c", $"head -c 50000000 /dev/urandom | tee >(sha256sum > /dev/stderr) | ssh {ssh} 'sha256sum'"],
            TimeSpan.FromSeconds(120));
        Assert.Equal(0, up.ExitCode);
        string sent = up.StandardError.Split(' ')[0].Trim();
        Assert.Equal(sent, up.StandardOutput.Split(' ')[0].Trim());
    }

    [Fact]
    public async Task Keepalives_from_both_ends_are_answered_while_a_command_runs()
    {
        // ssh asks every second (and gives up after 2 unanswered), sshd asks every second too (ClientAliveInterval 1 in the
        // fixture): both get their answers through or from Wire, so a quiet 4-second command completes.
        var result = await Processes.RunAsync("ssh",
            SshArguments("-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=2", "alice+app@127.0.0.1", "sleep 4; echo awake"), TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, result.StandardError);
        Assert.Equal("awake\n", result.StandardOutput);
    }

    [Fact]
    public async Task Several_channels_share_one_connection_through_an_openssh_control_master()
    {
        using var directory = new TempDirectory();
        string control = Path.Combine(directory.Path, "cm");
        await using var master = await ControlMasterAsync(control);
        // Three commands at once over the master's one connection: three session channels side by side.
        var runs = Enumerable.Range(0, 3).Select(i => Processes.RunAsync("ssh",
            SshArguments("-o", "ControlPath=" + control, "alice+app@127.0.0.1", $"sleep 1; echo channel {i}"), Timeout)).ToList();
        var results = await Task.WhenAll(runs);
        for (int i = 0; i < 3; i++)
        {
            Assert.True(results[i].ExitCode == 0, results[i].StandardError);
            Assert.Equal($"channel {i}\n", results[i].StandardOutput);
        }
    }

    [Fact]
    public async Task SshNet_runs_commands_through_wire_with_the_token()
    {
        using var client = new SshClient(new ConnectionInfo("127.0.0.1", Port, "alice+app", new PasswordAuthenticationMethod("alice+app", Token)));
        await client.ConnectAsync(CancellationToken.None);
        for (int i = 0; i < 3; i++)
        {
            using var command = client.RunCommand($"echo run {i}; echo warn >&2; exit {i}");
            Assert.Equal($"run {i}\n", command.Result);
            Assert.Equal("warn\n", command.Error);
            Assert.Equal(i, command.ExitStatus);
        }
    }

    [Fact]
    public async Task An_unreachable_target_fails_the_channel_not_the_login()
    {
        var options = new SshProxyOptions
        {
            HostKeys = [SshKeys.Ed25519],
            Targets = [new SshProxyTarget { Name = "gone", Host = "127.0.0.1", Port = 1, UserName = "x", Password = "x", KnownHosts = SshKnownHosts.Parse("") }],
        };
        await using var server = new SshProxyServer(new IPEndPoint(IPAddress.Loopback, 0), options,
            new TestAuthenticator("alice", [Keys.PublicKey("alice")], Token), NullLoggerFactory.Instance);
        server.Start();
        var args = SshArguments("alice+gone@127.0.0.1", "true");
        args[3] = server.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture);
        args[args.IndexOf("LogLevel=ERROR")] = "LogLevel=INFO";
        var result = await Processes.RunAsync("ssh", args, TimeSpan.FromSeconds(30));
        Assert.Equal(255, result.ExitCode);
        Assert.Contains("target gone is unreachable", result.StandardError, StringComparison.Ordinal);
    }
}
