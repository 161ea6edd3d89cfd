using Wire.Ssh.Keys;
using Wire.Ssh.Tests.Infrastructure;
using Wire.Ssh.Transport;

namespace Wire.Ssh.Tests.Transport;

/// <summary>
/// OpenSSH's own client (ssh, from the Debian package) against Wire's server-role transport: every key exchange
/// method, cipher, MAC and host key algorithm, forced one at a time with -o, with the host key checked against a
/// known_hosts file. The client gets through the key exchange to user authentication (where this server says no).
/// </summary>
public sealed class OpenSshClientTests
{
    public static TheoryData<string, string, string, string> Algorithms()
    {
        var data = new TheoryData<string, string, string, string>();
        foreach (var kex in (string[])[SshAlgorithms.Curve25519, SshAlgorithms.Curve25519LibSsh, SshAlgorithms.EcdhP256])
        {
            data.Add(kex, SshAlgorithms.Aes128Gcm, "", "ssh-ed25519");
        }
        foreach (var cipher in SshAlgorithms.Ciphers)
        {
            foreach (var mac in SshAlgorithms.IsAead(cipher) ? [""] : SshAlgorithms.Macs)
            {
                data.Add(SshAlgorithms.Curve25519, cipher, mac, "ssh-ed25519");
            }
        }
        foreach (var hostKey in SshAlgorithms.HostKeys)
        {
            data.Add(SshAlgorithms.EcdhP256, SshAlgorithms.Aes256Ctr, SshAlgorithms.HmacSha512Etm, hostKey);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task OpenSsh_negotiates_each_algorithm_and_verifies_the_host_key(string kex, string cipher, string mac, string hostKey)
    {
        await using var server = new SshTestServer(new SshTransportOptions { HostKeys = SshKeys.All });
        using var directory = new TempDirectory();
        var key = SshKeys.All.First(k => k.SignatureAlgorithms.Contains(hostKey));
        string knownHosts = directory.Write("known_hosts", $"[127.0.0.1]:{server.Port} {key.PublicKey.ToOpenSshString()}\n");

        List<string> args =
        [
            "-v", "-F", "/dev/null", "-p", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + knownHosts,
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "PreferredAuthentications=publickey", "-o", "IdentitiesOnly=yes",
            "-o", "IdentityFile=" + directory.Path + "/none", "-o", "ConnectTimeout=10",
            "-o", "KexAlgorithms=" + kex, "-o", "Ciphers=" + cipher, "-o", "HostKeyAlgorithms=" + hostKey,
        ];
        if (mac.Length > 0)
        {
            args.AddRange(["-o", "MACs=" + mac]);
        }
        args.AddRange(["alice@127.0.0.1", "true"]);
        var result = await Processes.RunAsync("ssh", args, TimeSpan.FromSeconds(30));

        string log = result.StandardError;
        Assert.Contains($"kex: algorithm: {kex}", log, StringComparison.Ordinal);
        Assert.Contains($"kex: host key algorithm: {hostKey}", log, StringComparison.Ordinal);
        Assert.Contains($"kex: server->client cipher: {cipher} MAC: {(mac.Length > 0 ? mac : "<implicit>")}", log, StringComparison.Ordinal);
        Assert.Contains("is known and matches the", log, StringComparison.Ordinal);
        Assert.Contains("SSH2_MSG_NEWKEYS received", log, StringComparison.Ordinal);
        Assert.Contains("Authentications that can continue: publickey", log, StringComparison.Ordinal);
        Assert.Contains("Permission denied (publickey)", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenSsh_refuses_a_host_key_it_does_not_know_under_strict_checking()
    {
        await using var server = new SshTestServer(new SshTransportOptions { HostKeys = [SshKeys.Ed25519] });
        using var directory = new TempDirectory();
        using var other = SshPrivateKey.Generate(SshPublicKey.Ed25519);
        string knownHosts = directory.Write("known_hosts", $"[127.0.0.1]:{server.Port} {other.PublicKey.ToOpenSshString()}\n");
        var result = await Processes.RunAsync("ssh",
        [
            "-F", "/dev/null", "-p", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + knownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
            "alice@127.0.0.1", "true",
        ], TimeSpan.FromSeconds(30));
        Assert.Equal(255, result.ExitCode);
        Assert.Contains("REMOTE HOST IDENTIFICATION HAS CHANGED", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenSsh_sees_strict_key_exchange_and_ext_info()
    {
        await using var server = new SshTestServer(new SshTransportOptions { HostKeys = SshKeys.All });
        var result = await Processes.RunAsync("ssh",
        [
            "-vvv", "-F", "/dev/null", "-p", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null",
            "alice@127.0.0.1", "true",
        ], TimeSpan.FromSeconds(30));
        Assert.Contains("will use strict KEX ordering", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("server-sig-algs=<ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256>", result.StandardError, StringComparison.Ordinal);
    }
}
