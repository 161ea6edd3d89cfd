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
        keys.Generate("alice", "ed25519");
        keys.Generate("bob", "ed25519");
        File.WriteAllText(keys.PathOf("known_hosts"), sshd.KnownHostsLine + "\n");
        int port = FreePort();
        string config = keys.PathOf("wire.json");
        File.WriteAllText(config, $$"""
            {
              "identity": {
                "tokens": [ { "token": "{{Token}}", "subject": "alice", "groups": ["dev"] } ],
                "users": [ { "subject": "alice", "groups": ["dev"], "sshKeys": [ "{{keys.PublicLine("alice")}}" ] } ]
              },
              "ssh": {
                "listen": "127.0.0.1:{{port}}",
                "targets": [ { "name": "app", "host": "127.0.0.1", "port": {{sshd.Port}}, "username": "{{sshd.UserName}}",
                               "privateKey": "{{sshd.ClientKeyPath}}", "knownHosts": "known_hosts" } ]
              }
            }
            """);

        string hostKeyFile = keys.PathOf("wire_ssh_host_ed25519_key");
        await using (var wire = WireProcess.Start("run", "--config", config))
        {
            await wire.WaitForAsync("Listening for ssh", TimeSpan.FromSeconds(30));
            Assert.True(File.Exists(hostKeyFile), "the host key is made on first start");

            var direct = await Processes.RunAsync("uname", ["-a"], TimeSpan.FromSeconds(10));
            var viaKey = await Processes.RunAsync("ssh", Ssh(port, keys.PathOf("alice"), "alice+app", "uname -a"), TimeSpan.FromSeconds(30));
            Assert.True(viaKey.ExitCode == 0, viaKey.StandardError + "\n" + wire.Output);
            Assert.Equal(direct.StandardOutput, viaKey.StandardOutput);

            // bob's key is not in the config; a target that does not exist is an authentication failure.
            var bob = await Processes.RunAsync("ssh", Ssh(port, keys.PathOf("bob"), "bob+app", "true"), TimeSpan.FromSeconds(30));
            Assert.Equal(255, bob.ExitCode);
            var nowhere = await Processes.RunAsync("ssh", Ssh(port, keys.PathOf("alice"), "alice+nowhere", "true"), TimeSpan.FromSeconds(30));
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

    private static string[] Ssh(int port, string identity, string user, string command) =>
    [
        "-F", "/dev/null", "-p", port.ToString(CultureInfo.InvariantCulture), "-i", identity, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
        $"{user}@127.0.0.1", command,
    ];

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
