using System.Text;
using System.Text.RegularExpressions;
using Wire.Ssh.Tests.Gateway;
using Wire.Ssh.Tests.Infrastructure;
using Wire.Ssh.Tests.Keys;
using Wire.Testing;
using static Wire.Testing.MaskedValues;

namespace Wire.Ssh.Tests.Security;

/// <summary>
/// Security checklist (docs/security.md), SSH: a value the mask rules' detectors hide never reaches the client, the
/// gateway's log (at trace level), its metrics, its recordings (the JSON Lines file and the terminal's asciicast) or the
/// admin API's view of them. The values (an SSN, an email, a Luhn-valid card number) are in an exec's stdout and
/// stderr (OpenSSH) and in its command line, and in a pty shell's output and typed line (the decrypted packets of
/// <see cref="SshPlaintextClient"/>).
/// </summary>
public sealed class SshMaskedValueExposureTests(SshdFixture sshd) : IClassFixture<SshdFixture>
{
    private const string Token = "tok-ssh-mask-alice-8f3a";
    private const string AdminToken = "tok-ssh-mask-admin-2c6e";
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Masked_values_never_reach_the_client_the_log_the_metrics_the_recordings_or_the_admin_api()
    {
        using var keys = new SshKeygen();
        var (wire, port, admin) = await StartAsync(keys);
        await using var _ = wire;

        var exec = await Processes.RunAsync("ssh", WireRunSsh.Ssh(port, keys.PathOf("alice"), "alice+app",
            $"printf '%s\\n' 'ssn {Ssn}' 'mail {Email}' 'card {Card}'; echo 'err {Ssn}' >&2"), Limit);
        Assert.True(exec.ExitCode == 0, exec.StandardError + wire.Output);
        Assert.Equal($"ssn {Stars(Ssn)}\nmail {Stars(Email)}\ncard {Stars(Card)}\n", exec.StandardOutput);
        Assert.Equal($"err {Stars(Ssn)}\n", exec.StandardError);

        IReadOnlyList<byte[]> shellPackets;
        await using (var client = await SshPlaintextClient.ConnectAsync(port))
        {
            Assert.True(await client.LoginAsync("alice+app", null, Token));
            var shell = await client.RunAsync(null, $"echo shell {Ssn[..4]}''{Ssn[4..]} {Email}\nexit\n");
            Assert.Contains($"shell {Stars(Ssn)} {Stars(Email)}", shell.Output.ToString(), StringComparison.Ordinal);
            client.AssertCaptureComplete();
            shellPackets = client.Received;
        }

        string recordings = keys.PathOf("recordings");
        Assert.True(
            await Eventually.WaitAsync(() => SecretScan.CompleteRecordings(recordings) == 2), "two complete recordings\n" + wire.Output);
        string cast = File.ReadAllText(Assert.Single(Directory.GetFiles(recordings, "*.cast")));
        Assert.Contains(Stars(Email), cast, StringComparison.Ordinal);
        string recorded = SecretScan.Recorded(recordings);
        Assert.Contains($"'ssn {Stars(Ssn)}'", recorded, StringComparison.Ordinal);
        var (adminEvidence, listed) = await SecretScan.AdminAsync(admin, AdminToken);
        Assert.Equal(2, listed);
        string metrics = Encoding.UTF8.GetString(adminEvidence.Single(e => e.Where == "GET /metrics").Bytes);
        Assert.Matches(new Regex("^wire_masked_total\\{[^}]*network_protocol_name=\"ssh\"[^}]*\\} [1-9]", RegexOptions.Multiline), metrics);

        SecretScan.AssertNoneIn(
        [
            SecretScan.Text("ssh's standard output", exec.StandardOutput),
            SecretScan.Text("ssh's standard error", exec.StandardError),
            .. shellPackets.Select((p, i) => ($"decrypted shell packet {i + 1}", p)),
            .. SecretScan.Gateway(wire.Output, recordings, adminEvidence),
        ], Secrets());
    }

    private async Task<(WireProcess Wire, int Port, int Admin)> StartAsync(SshKeygen keys)
    {
        keys.Generate("alice", "ed25519");
        File.WriteAllText(keys.PathOf("known_hosts"), sshd.KnownHostsLine + "\n");
        File.WriteAllText(keys.PathOf("recording.key"), "ssh-masked-recording-key-9a4c2e7f1b0d3568\n");
        int port = WireSshHarness.FreePort();
        int admin = WireSshHarness.FreePort();
        var wire = await WireRun.StartAsync(keys.Root, $$"""
            {
              "identity": {
                "tokens": [ { "token": "{{Token}}", "subject": "alice", "groups": ["dev"] },
                            { "token": "{{AdminToken}}", "subject": "root", "groups": ["admin"] } ],
                "users": [ { "subject": "alice", "groups": ["dev"], "sshKeys": [ "{{keys.PublicLine("alice")}}" ] } ]
              },
              "ssh": {
                "listen": "127.0.0.1:{{port}}",
                "targets": [ { "name": "app", "host": "127.0.0.1", "port": {{sshd.Port}}, "username": "{{sshd.UserName}}",
                               "privateKey": "{{sshd.ClientKeyPath}}", "knownHosts": "known_hosts" } ]
              },
              "rules": [ { "name": "pii", "action": "mask", "detectors": ["ssn", "email", "card"] } ],
              {{WireRun.Observed(admin)}}
            }
            """, "Listening for ssh", WireRun.AdminListening);
        return (wire, port, admin);
    }
}
