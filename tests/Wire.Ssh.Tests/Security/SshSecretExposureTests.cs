using System.Net;
using System.Text;
using Renci.SshNet;
using Wire.Ssh.Keys;
using Wire.Ssh.Tests.Infrastructure;
using Wire.Ssh.Tests.Keys;
using Wire.Testing;

namespace Wire.Ssh.Tests.Security;

/// <summary>
/// Security checklist (docs/security.md), SSH: the target credentials Wire holds (a private key, passwords) never reach
/// the client, and neither they nor any client token reach the gateway's log (at trace level), its recordings or its
/// admin API; a target whose host key is not the one in its known_hosts is never logged in to.
/// </summary>
/// <remarks>
/// SSH is encrypted, so the bytes Wire sends are read twice: a <see cref="TcpTap"/> keeps what goes out in the clear (the
/// version line and key exchange), and <see cref="SshPlaintextClient"/> keeps the decrypted payload of every packet after
/// it, and proves it missed none. Sessions: a refused and an accepted token, exec (stdout, stderr, exit status), a
/// denied exec, a shell with a pty, a target that refuses Wire's password, a target with an unknown host key; SSH.NET
/// at the keyboard-interactive prompt with a wrong and a right token; the admin API's 401.
/// </remarks>
public sealed class SshSecretExposureTests(SshdFixture sshd) : IClassFixture<SshdFixture>
{
    private const string Token = "tok-ssh-alice-T9rx4Wq1";
    private const string AdminToken = "tok-ssh-admin-N2cv7Hz8";
    private const string BadToken = "tok-ssh-wrong-P5mk2Dy6";
    private const string PromptBadToken = "tok-ssh-prompt-bad-F8js3Qa0";
    private const string AdminBadToken = "tok-ssh-admin-bad-R1lo6Eu4";
    private const string UnusedPassword = "ssh-unused-upstream-pw-3b8e1f6a0d92";
    private const string LockedPassword = "ssh-locked-upstream-pw-c47a29e5b1f0";
    private const string RecordingKey = "ssh-security-recording-key-4d1b8e0a6c3f5927";
    private const string Marker = "plaintext-capture-marker-51e7";
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Target_credentials_and_tokens_never_reach_the_client_the_log_the_recordings_or_the_admin_api()
    {
        using var keys = new SshKeygen();
        var (wire, port, admin) = await StartAsync(keys);
        await using var _ = wire;
        await using var tap = TcpTap.Start(port);

        var clients = new List<SshPlaintextClient>();
        try
        {
            async Task<SshPlaintextClient> ConnectAsync()
            {
                var client = await SshPlaintextClient.ConnectAsync(tap.Port);
                clients.Add(client);
                return client;
            }

            var app = await ConnectAsync();
            Assert.True(await app.LoginAsync("alice+app", null, Token));
            var exec = await app.RunAsync($"echo {Marker}; echo to-stderr >&2; exit 3");
            Assert.Equal(Marker + "\n", exec.Output.ToString());
            Assert.Equal("to-stderr\n", exec.Errors.ToString());
            Assert.Equal(3u, exec.ExitStatus);
            var denied = await app.RunAsync("rm -rf /");
            Assert.Equal(126u, denied.ExitStatus);
            Assert.Contains("denied by rule no-rm-root", denied.Errors.ToString(), StringComparison.Ordinal);
            var shell = await app.RunAsync(null, "echo shell-$((6*7))\nexit\n");
            Assert.Contains("shell-42", shell.Output.ToString(), StringComparison.Ordinal);

            // Targets Wire cannot log in to: the client stays logged in to Wire, the channel fails with the reason.
            foreach (string target in (string[])["locked", "stranger"])
            {
                var client = await ConnectAsync();
                Assert.True(await client.LoginAsync("alice+" + target, null, Token));
                var refused = await client.RunAsync("true");
                Assert.NotNull(refused.OpenFailure);
                Assert.Contains($"target {target} is unreachable", refused.Errors.ToString(), StringComparison.Ordinal);
            }

            var rejected = await ConnectAsync();
            Assert.False(await rejected.LoginAsync("alice+app", null, BadToken));

            foreach (var client in clients)
            {
                client.AssertCaptureComplete();
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }

        // The token at SSH.NET's keyboard-interactive prompt, wrong and right.
        foreach (var (token, works) in new[] { (PromptBadToken, false), (Token, true) })
        {
            var keyboard = new KeyboardInteractiveAuthenticationMethod("alice+app");
            keyboard.AuthenticationPrompt += (_, e) => e.Prompts.ToList().ForEach(p => p.Response = token);
            using var client = new SshClient(new Renci.SshNet.ConnectionInfo("127.0.0.1", port, "alice+app", keyboard));
            if (works)
            {
                await client.ConnectAsync(CancellationToken.None);
                Assert.True(client.IsConnected);
            }
            else
            {
                await Assert.ThrowsAsync<Renci.SshNet.Common.SshAuthenticationException>(() => client.ConnectAsync(CancellationToken.None));
            }
        }

        using (var http = AdminApi.Client(admin))
        {
            using var refused = await AdminApi.SendAsync(http, HttpMethod.Get, "/api/sessions", AdminBadToken);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        // Wire's log says why it refused the target whose host key it does not know.
        Assert.Contains("host key", wire.Output, StringComparison.OrdinalIgnoreCase);

        string recordings = keys.PathOf("recordings");
        Assert.True(await Eventually.WaitAsync(() => SecretScan.CompleteRecordings(recordings) >= 3),
            $"{SecretScan.CompleteRecordings(recordings)} complete recordings\n{wire.Output}");
        var (adminEvidence, listed) = await SecretScan.AdminAsync(admin, AdminToken);
        Assert.True(listed >= 3, $"the admin API lists {listed} recordings");
        Assert.NotEmpty(Directory.GetFiles(recordings, "*.cast"));

        var secrets = TargetKeySecrets(File.ReadAllText(sshd.ClientKeyPath));
        secrets.AddRange(
        [
            new("the app target's unused password", UnusedPassword),
            new("the locked target's password", LockedPassword),
            new("the recording key", RecordingKey),
            new("alice's token", Token),
            new("the admin's token", AdminToken),
            new("the unknown token", BadToken),
            new("the unknown token at the prompt", PromptBadToken),
            new("the token the admin API refused", AdminBadToken),
        ]);
        var plaintext = clients.SelectMany((c, i) => c.Received.Select((p, j) => ($"decrypted packet {j + 1} of connection {i + 1}", p))).ToList();
        // The capture is real: the decrypted packets hold the command's output, the cleartext holds the version line.
        Assert.NotEmpty(SecretScan.Findings(plaintext, [new Secret("the marker", Marker)]));
        Assert.StartsWith("SSH-2.0-Wire", Encoding.ASCII.GetString(tap.ToClient[0]), StringComparison.Ordinal);

        SecretScan.AssertNoneIn(
        [
            .. plaintext,
            .. SecretScan.Streams("Wire to client (on the wire)", tap.ToClient),
            .. SecretScan.Gateway(wire.Output, recordings, adminEvidence),
        ], secrets);
    }

    [Fact]
    public async Task A_target_whose_host_key_is_not_in_known_hosts_is_never_logged_in_to()
    {
        using var keys = new SshKeygen();
        var (wire, port, _) = await StartAsync(keys);
        await using var _w = wire;
        string before = sshd.Log;

        string[] arguments = Gateway.WireRunSsh.Ssh(port, keys.PathOf("alice"), "alice+stranger", "echo reached");
        arguments[Array.IndexOf(arguments, "LogLevel=ERROR")] = "LogLevel=INFO";
        var result = await Processes.RunAsync("ssh", arguments, Limit);
        Assert.Equal(255, result.ExitCode);
        Assert.DoesNotContain("reached", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("target stranger is unreachable", result.StandardError, StringComparison.Ordinal);
        await wire.WaitForAsync("host key", Limit);

        // The same target with the right key works, and sshd logged that login but none for the refused one.
        var ok = await Processes.RunAsync("ssh", Gateway.WireRunSsh.Ssh(port, keys.PathOf("alice"), "alice+app", "echo reached"), Limit);
        Assert.Equal("reached\n", ok.StandardOutput);
        Assert.True(await Eventually.WaitAsync(() => sshd.Log.Length > before.Length && sshd.Log[before.Length..].Contains("Accepted publickey", StringComparison.Ordinal)));
        string during = sshd.Log[before.Length..];
        Assert.Equal(1, during.Split("Accepted publickey").Length - 1);
    }

    /// <summary>
    /// The target's private key as secrets: its Ed25519 seed (found in any hex or base64 text that holds it), the whole
    /// file, and each line of the file's base64 body.
    /// </summary>
    private static List<Secret> TargetKeySecrets(string keyFile)
    {
        using var key = OpenSshKeyFile.Parse(keyFile);
        byte[] publicKey = key.PublicKey.Blob.ToArray()[^32..];
        var body = keyFile.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith("-----", StringComparison.Ordinal)).ToList();
        byte[] decoded = Convert.FromBase64String(string.Concat(body));
        // The private part is "string priv": uint32 64, then seed || public key.
        int at = -1;
        for (int i = 0; i + 68 <= decoded.Length; i++)
        {
            if (decoded[i] == 0 && decoded[i + 1] == 0 && decoded[i + 2] == 0 && decoded[i + 3] == 64 && decoded.AsSpan(i + 36, 32).SequenceEqual(publicKey))
            {
                at = i + 4;
            }
        }
        Assert.True(at >= 0, "no Ed25519 private part in the target's key file");
        var secrets = new List<Secret>
        {
            new("the target key's Ed25519 seed", decoded[at..(at + 32)]),
            new("the target key file", keyFile.Trim()),
        };
        secrets.AddRange(body.Select((line, i) => new Secret($"line {i + 1} of the target key file", line)));
        return secrets;
    }

    private async Task<(WireProcess Wire, int Port, int Admin)> StartAsync(SshKeygen keys)
    {
        keys.Generate("alice", "ed25519");
        keys.Generate("stranger-host", "ed25519");
        File.WriteAllText(keys.PathOf("known_hosts"), sshd.KnownHostsLine + "\n");
        File.WriteAllText(keys.PathOf("stranger_known_hosts"), $"[127.0.0.1]:{sshd.Port} {keys.PublicLine("stranger-host")}\n");
        File.WriteAllText(keys.PathOf("recording.key"), RecordingKey + "\n");
        int port = WireSshHarness.FreePort();
        int admin = WireSshHarness.FreePort();
        string Target(string name, string credential, string knownHosts) =>
            $$"""{ "name": "{{name}}", "host": "127.0.0.1", "port": {{sshd.Port}}, "username": "{{sshd.UserName}}", {{credential}}, "knownHosts": "{{knownHosts}}" }""";
        var wire = await WireRun.StartAsync(keys.Root, $$"""
            {
              "identity": {
                "tokens": [ { "token": "{{Token}}", "subject": "alice", "groups": ["dev"] },
                            { "token": "{{AdminToken}}", "subject": "root", "groups": ["admin"] } ],
                "users": [ { "subject": "alice", "groups": ["dev"], "sshKeys": [ "{{keys.PublicLine("alice")}}" ] } ]
              },
              "ssh": {
                "listen": "127.0.0.1:{{port}}",
                "targets": [
                  {{Target("app", $"\"privateKey\": \"{sshd.ClientKeyPath}\", \"password\": \"{UnusedPassword}\"", "known_hosts")}},
                  {{Target("locked", $"\"password\": \"{LockedPassword}\"", "known_hosts")}},
                  {{Target("stranger", $"\"privateKey\": \"{sshd.ClientKeyPath}\"", "stranger_known_hosts")}}
                ]
              },
              "rules": [ { "name": "no-rm-root", "action": "deny", "protocols": ["ssh"], "commands": ["rm -rf /"] } ],
              {{WireRun.Observed(admin)}}
            }
            """, "Listening for ssh", WireRun.AdminListening);
        return (wire, port, admin);
    }
}
