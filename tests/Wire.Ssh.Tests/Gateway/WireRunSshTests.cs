using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Wire.Ssh.Tests.Infrastructure;
using Wire.Ssh.Tests.Keys;
using Wire.Testing;

namespace Wire.Ssh.Tests.Gateway;

/// <summary>
/// The issue's own check, through the real <c>wire</c> process and config file: <c>ssh -p PORT alice+app@127.0.0.1
/// 'uname -a'</c> runs on the target (a real sshd) with Wire's key, the client logging in with a key from
/// <c>identity.users</c> or with its token; the host key is made on first start and kept.
/// </summary>
public sealed class WireRunSshTests(SshdFixture sshd) : IClassFixture<SshdFixture>
{
    private const string Token = "tok-alice-ssh-9b1d";

    [Fact]
    public async Task Ssh_through_wire_run_runs_uname_on_the_target()
    {
        using var keys = new SshKeygen();
        keys.Generate("bob", "ed25519");
        var (wire, port) = await StartWireAsync(keys);
        string config = keys.PathOf("wire.json");
        string hostKeyFile = keys.PathOf("wire_ssh_host_ed25519_key");
        await using (wire)
        {
            Assert.True(File.Exists(hostKeyFile), "the host key is made on first start");

            var direct = await Processes.RunAsync("uname", ["-a"], TimeSpan.FromSeconds(10));
            var viaKey = await Processes.RunAsync("ssh", WireRunSsh.Ssh(port, keys.PathOf("alice"), "alice+app", "uname -a"), TimeSpan.FromSeconds(30));
            Assert.True(viaKey.ExitCode == 0, viaKey.StandardError + "\n" + wire.Output);
            Assert.Equal(direct.StandardOutput, viaKey.StandardOutput);

            // bob's key is not in the config; a target that does not exist is an authentication failure.
            var bob = await Processes.RunAsync("ssh", WireRunSsh.Ssh(port, keys.PathOf("bob"), "bob+app", "true"), TimeSpan.FromSeconds(30));
            Assert.Equal(255, bob.ExitCode);
            var nowhere = await Processes.RunAsync("ssh", WireRunSsh.Ssh(port, keys.PathOf("alice"), "alice+nowhere", "true"), TimeSpan.FromSeconds(30));
            Assert.Equal(255, nowhere.ExitCode);
            Assert.Contains("Permission denied", nowhere.StandardError, StringComparison.Ordinal);

            // The token works as a password (SSH.NET; OpenSSH would need a terminal to type it).
            using var client = new Renci.SshNet.SshClient(new Renci.SshNet.ConnectionInfo("127.0.0.1", port, "alice+app",
                new Renci.SshNet.PasswordAuthenticationMethod("alice+app", Token)));
            await client.ConnectAsync(CancellationToken.None);
            using var command = client.RunCommand("echo via-token");
            Assert.Equal("via-token\n", command.Result);
        }

        // A second start keeps the key it made.
        string hostKey = File.ReadAllText(hostKeyFile);
        await using (var again = WireProcess.Start("run", "--config", config))
        {
            await again.WaitForAsync("Listening for ssh", TimeSpan.FromSeconds(30));
        }
        Assert.Equal(hostKey, File.ReadAllText(hostKeyFile));
    }

    [Fact]
    public async Task A_client_that_stops_reading_makes_wire_hold_at_most_the_channel_buffer_and_loses_nothing()
    {
        using var keys = new SshKeygen();
        var (wire, port) = await StartWireAsync(keys);
        await using var _ = wire;
        // Warm up (JIT, pools) before the baseline.
        var warm = await Processes.RunAsync("ssh", WireRunSsh.Ssh(port, keys.PathOf("alice"), "alice+app", "head -c 20000000 /dev/zero | wc -c"), TimeSpan.FromSeconds(60));
        Assert.Equal("20000000\n", warm.StandardOutput);
        long baseline = wire.ResidentBytes();

        // 300 MB toward a client whose standard output nobody reads for a while: ssh stops reading its socket.
        const long Total = 300_000_000;
        var info = new System.Diagnostics.ProcessStartInfo("ssh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in WireRunSsh.Ssh(port, keys.PathOf("alice"), "alice+app", $"head -c {Total} /dev/zero"))
        {
            info.ArgumentList.Add(argument);
        }
        using var ssh = System.Diagnostics.Process.Start(info)!;
        await Task.Delay(TimeSpan.FromSeconds(4));
        long stalled = wire.ResidentBytes();
        Assert.False(ssh.HasExited);

        // Now read it all: nothing was lost while the reader stood still.
        var stream = ssh.StandardOutput.BaseStream;
        var buffer = new byte[1 << 16];
        long received = 0;
        int n;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        while ((n = await stream.ReadAsync(buffer, timeout.Token)) > 0)
        {
            received += n;
        }
        await ssh.WaitForExitAsync(timeout.Token);
        Assert.Equal(Total, received);
        Assert.Equal(0, ssh.ExitCode);
        // The channel buffer is 2 MiB; allow for the GC's own slack, far below the 300 MB a buffering relay would hold.
        Assert.True(stalled - baseline < 48L << 20, $"wire grew from {baseline >> 20} MiB to {stalled >> 20} MiB while the client did not read");
    }

    [Fact]
    public async Task User_certificates_from_the_configured_authority_log_in_with_their_principals_validity_and_options()
    {
        using var keys = new SshKeygen();
        keys.Generate("ca", "ed25519");
        keys.Generate("rogue-ca", "ed25519");
        var (wire, port) = await StartWireAsync(keys, keys.PublicLine("ca"));
        await using var _ = wire;

        string Certify(string name, string signer, params string[] options)
        {
            keys.Generate(name, "ed25519");
            SshKeygen.Run([.. new[] { "-q", "-s", keys.PathOf(signer), "-I", name, "-V", "-5m:+1h" }, .. options, keys.PathOf(name + ".pub")]);
            return keys.PathOf(name);
        }
        async Task<Processes.Result> Run(string identity, string user, string command) =>
            await Processes.RunAsync("ssh", ["-o", "CertificateFile=" + identity + "-cert.pub", .. WireRunSsh.Ssh(port, identity, user, command)], TimeSpan.FromSeconds(30));

        var ok = await Run(Certify("carol", "ca", "-n", "carol"), "carol+app", "echo certified");
        Assert.True(ok.ExitCode == 0, ok.StandardError + wire.Output);
        Assert.Equal("certified\n", ok.StandardOutput);

        // Another principal, another authority, an expired certificate, a foreign source address, an unknown critical option.
        Assert.Equal(255, (await Run(Certify("dave", "ca", "-n", "dave"), "carol+app", "true")).ExitCode);
        Assert.Equal(255, (await Run(Certify("erin", "rogue-ca", "-n", "erin"), "erin+app", "true")).ExitCode);
        keys.Generate("frank", "ed25519");
        SshKeygen.Run("-q", "-s", keys.PathOf("ca"), "-I", "frank", "-n", "frank", "-V", "-2h:-1h", keys.PathOf("frank.pub"));
        Assert.Equal(255, (await Run(keys.PathOf("frank"), "frank+app", "true")).ExitCode);
        Assert.Equal(255, (await Run(Certify("gina", "ca", "-n", "gina", "-O", "source-address=10.9.9.9/32"), "gina+app", "true")).ExitCode);
        Assert.Equal(255, (await Run(Certify("hank", "ca", "-n", "hank", "-O", "critical:frobnicate=yes"), "hank+app", "true")).ExitCode);

        // force-command runs instead of what the client asks for.
        var forced = await Run(Certify("ivan", "ca", "-n", "ivan", "-O", "force-command=echo forced"), "ivan+app", "echo asked");
        Assert.Equal("forced\n", forced.StandardOutput);
    }

    [Fact]
    public async Task Garbage_and_an_oversized_packet_get_a_disconnect_and_a_log_line_and_wire_keeps_serving()
    {
        using var keys = new SshKeygen();
        var (wire, port) = await StartWireAsync(keys);
        await using var _ = wire;

        // An identification string, then a packet claiming 2 GB.
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(IPAddress.Loopback, port);
            var stream = client.GetStream();
            await stream.WriteAsync("SSH-2.0-Fuzz_1.0\r\n"u8.ToArray());
            await stream.WriteAsync(new byte[] { 0x7f, 0xff, 0xff, 0xf0, 0, 0, 0, 0 });
            string answer = await ReadAllAsync(stream);
            Assert.StartsWith("SSH-2.0-Wire", answer, StringComparison.Ordinal);
            // The DISCONNECT (in the clear: no keys yet) says why.
            Assert.Contains("packet length", answer, StringComparison.Ordinal);
        }
        // Not SSH at all.
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(IPAddress.Loopback, port);
            var stream = client.GetStream();
            await stream.WriteAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
            await ReadAllAsync(stream);
        }
        await wire.WaitForAsync("broke the protocol", TimeSpan.FromSeconds(10));

        var after = await Processes.RunAsync("ssh", WireRunSsh.Ssh(port, keys.PathOf("alice"), "alice+app", "echo still-serving"), TimeSpan.FromSeconds(30));
        Assert.Equal("still-serving\n", after.StandardOutput);
    }

    [Fact]
    public async Task Rules_masking_and_recording_from_the_config_apply_to_ssh_and_the_recording_verifies()
    {
        using var keys = new SshKeygen();
        File.WriteAllText(keys.PathOf("recording.key"), "ssh-recording-key-0123456789abcdef0123456789abcdef\n");
        var (wire, port) = await StartWireAsync(keys, sections: """
            "rules": [
              { "name": "no-rm-root", "action": "deny", "protocols": ["ssh"], "commands": ["rm -rf /"] },
              { "name": "keys", "action": "mask", "detectors": ["aws-key"] }
            ],
            "recording": { "directory": "recordings", "key": "file:recording.key" },
            """);
        await using (wire)
        {
            var denied = await Processes.RunAsync("ssh", WireRunSsh.Ssh(port, keys.PathOf("alice"), "alice+app", "rm -rf /"), TimeSpan.FromSeconds(30));
            Assert.Equal(126, denied.ExitCode);
            Assert.Equal("wire: denied by rule no-rm-root\r\n", denied.StandardError);
            var masked = await Processes.RunAsync("ssh", WireRunSsh.Ssh(port, keys.PathOf("alice"), "alice+app", "echo AKIA''IOSFODNN7EXAMPLE"), TimeSpan.FromSeconds(30));
            Assert.Equal(new string('*', 20) + "\n", masked.StandardOutput);
            // Wire completes a recording just after its connection ends: wait for both before stopping it.
            Assert.True(await Eventually.WaitAsync(() => Directory.Exists(keys.PathOf("recordings"))
                && Directory.GetFiles(keys.PathOf("recordings"), "*.jsonl").Count(f => File.ReadAllText(f).Contains("\"session.end\"", StringComparison.Ordinal)) == 2),
                "two complete recordings");
        }

        // Both sessions were recorded (the connection's end closes each recording) and verify with the configured key.
        await using var verify = WireProcess.Start("verify", keys.PathOf("recordings"), "--config", keys.PathOf("wire.json"));
        Assert.Equal(0, await verify.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(2, verify.CountLines("OK "));
        string all = string.Concat(Directory.GetFiles(keys.PathOf("recordings"), "*.jsonl").Select(File.ReadAllText));
        Assert.Contains("\"outcome\":\"denied\"", all, StringComparison.Ordinal);
        Assert.DoesNotContain("AKIAIOSFODNN7EXAMPLE", all, StringComparison.Ordinal);
    }

    /// <summary>
    /// <c>wire run</c> with an <c>ssh</c> section in front of the sshd fixture: alice logs in with the key <c>alice</c>
    /// (made here) or the token; Wire logs in to sshd with the fixture's client key.
    /// </summary>
    private async Task<(WireProcess Wire, int Port)> StartWireAsync(SshKeygen keys, string? authority = null, string sections = "")
    {
        keys.Generate("alice", "ed25519");
        File.WriteAllText(keys.PathOf("known_hosts"), sshd.KnownHostsLine + "\n");
        int port = WireSshHarness.FreePort();
        File.WriteAllText(keys.PathOf("wire.json"), $$"""
            {
              {{sections}}
              "identity": {
                "tokens": [ { "token": "{{Token}}", "subject": "alice", "groups": ["dev"] } ],
                "users": [ { "subject": "alice", "groups": ["dev"], "sshKeys": [ "{{keys.PublicLine("alice")}}" ] } ],
                "sshCa": [ {{(authority is null ? "" : "\"" + authority + "\"")}} ]
              },
              "ssh": {
                "listen": "127.0.0.1:{{port}}",
                "targets": [ { "name": "app", "host": "127.0.0.1", "port": {{sshd.Port}}, "username": "{{sshd.UserName}}",
                               "privateKey": "{{sshd.ClientKeyPath}}", "knownHosts": "known_hosts" } ]
              }
            }
            """);
        var wire = WireProcess.Start("run", "--config", keys.PathOf("wire.json"));
        await wire.WaitForAsync("Listening for ssh", TimeSpan.FromSeconds(30));
        return (wire, port);
    }

    private static async Task<string> ReadAllAsync(NetworkStream stream)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var bytes = new List<byte>();
        var buffer = new byte[4096];
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                bytes.AddRange(buffer.AsSpan(0, n).ToArray());
            }
        }
        catch (IOException)
        {
            // Reset after the disconnect: what arrived is enough.
        }
        return System.Text.Encoding.Latin1.GetString(bytes.ToArray());
    }


}
