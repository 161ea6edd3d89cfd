using System.Security.Cryptography;
using Wire.Ssh.Keys;
using Wire.Ssh.Protocol;

namespace Wire.Ssh.Tests.Keys;

public sealed class SshKnownHostsTests : IDisposable
{
    private readonly SshPrivateKey _a = SshPrivateKey.Generate(SshPublicKey.Ed25519);
    private readonly SshPrivateKey _b = SshPrivateKey.Generate(SshPublicKey.EcdsaP256);

    private SshPublicKey A => _a.PublicKey;

    private SshPublicKey B => _b.PublicKey;

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
    }

    [Fact]
    public void A_plain_host_line_trusts_its_key_on_port_22_only()
    {
        var hosts = SshKnownHosts.Parse($"example.com {A.ToOpenSshString()}\n");
        Assert.Equal(1, hosts.Count);
        Assert.Equal(0, hosts.SkippedLines);
        Assert.Equal(SshHostKeyCheck.Trusted, hosts.Check("example.com", 22, A));
        Assert.Equal(SshHostKeyCheck.Trusted, hosts.Check("EXAMPLE.com", 22, A));
        Assert.Equal(SshHostKeyCheck.Mismatch, hosts.Check("example.com", 22, B));
        Assert.Equal(SshHostKeyCheck.Unknown, hosts.Check("example.com", 2222, A));
        Assert.Equal(SshHostKeyCheck.Unknown, hosts.Check("www.example.com", 22, A));
        Assert.Equal(SshHostKeyCheck.Unknown, hosts.Check("example.co", 22, A));
    }

    [Fact]
    public void A_bracketed_port_line_matches_that_port_only()
    {
        var hosts = SshKnownHosts.Parse($"[127.0.0.1]:2222 {A.ToOpenSshString()} a comment with spaces\n");
        Assert.Equal(SshHostKeyCheck.Trusted, hosts.Check("127.0.0.1", 2222, A));
        Assert.Equal(SshHostKeyCheck.Mismatch, hosts.Check("127.0.0.1", 2222, B));
        Assert.Equal(SshHostKeyCheck.Unknown, hosts.Check("127.0.0.1", 22, A));
        Assert.Equal(SshHostKeyCheck.Unknown, hosts.Check("127.0.0.1", 2223, A));
    }

    [Fact]
    public void Several_lines_and_keys_for_one_host_all_count()
    {
        var hosts = SshKnownHosts.Parse($"example.com,10.0.0.1 {A.ToOpenSshString()}\r\nexample.com {B.ToOpenSshString()}\r\n");
        Assert.Equal(SshHostKeyCheck.Trusted, hosts.Check("example.com", 22, A));
        Assert.Equal(SshHostKeyCheck.Trusted, hosts.Check("example.com", 22, B));
        Assert.Equal(SshHostKeyCheck.Trusted, hosts.Check("10.0.0.1", 22, A));
        Assert.Equal(SshHostKeyCheck.Mismatch, hosts.Check("10.0.0.1", 22, B));
    }

    [Fact]
    public void Lines_hashed_by_ssh_keygen_match_their_hosts()
    {
        using var tool = new SshKeygen();
        string path = tool.PathOf("known_hosts");
        File.WriteAllText(path, $"""
            example.com,10.0.0.1 {A.ToOpenSshString()}
            [127.0.0.1]:2222 {B.ToOpenSshString()}
            [::1]:2022 {A.ToOpenSshString()}

            """);
        SshKeygen.Run("-H", "-f", path);
        string hashed = File.ReadAllText(path);
        var lines = hashed.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.All(lines, line => Assert.StartsWith("|1|", line));
        Assert.DoesNotContain("example.com", hashed, StringComparison.OrdinalIgnoreCase);

        var hosts = SshKnownHosts.Parse(hashed);
        Assert.Equal(0, hosts.SkippedLines);
        Assert.Equal(SshHostKeyCheck.Trusted, hosts.Check("example.com", 22, A));
        Assert.Equal(SshHostKeyCheck.Trusted, hosts.Check("Example.Com", 22, A));
        Assert.Equal(SshHostKeyCheck.Trusted, hosts.Check("10.0.0.1", 22, A));
        Assert.Equal(SshHostKeyCheck.Mismatch, hosts.Check("example.com", 22, B));
        Assert.Equal(SshHostKeyCheck.Trusted, hosts.Check("127.0.0.1", 2222, B));
        Assert.Equal(SshHostKeyCheck.Mismatch, hosts.Check("127.0.0.1", 2222, A));
        Assert.Equal(SshHostKeyCheck.Unknown, hosts.Check("127.0.0.1", 22, B));
        Assert.Equal(SshHostKeyCheck.Trusted, hosts.Check("::1", 2022, A));
        Assert.Equal(SshHostKeyCheck.Unknown, hosts.Check("::1", 22, A));
        Assert.Equal(SshHostKeyCheck.Unknown, hosts.Check("example.org", 22, A));

        // ssh-keygen -F finds the same lines by the same names.
        Assert.Contains("|1|", SshKeygen.Run("-F", "[127.0.0.1]:2222", "-f", path));
        Assert.Equal(SshHostKeyCheck.Trusted, SshKnownHosts.Load(path).Check("127.0.0.1", 2222, B));
    }

    [Fact]
    public void Wildcards_match_and_negation_excludes_the_line()
    {
        var hosts = SshKnownHosts.Parse($"""
            *.example.com,!bad.example.com {A.ToOpenSshString()}
            host?.lan {A.ToOpenSshString()}
            [*.port.test]:* {A.ToOpenSshString()}
            """);
        Assert.Equal(SshHostKeyCheck.Trusted, hosts.Check("www.example.com", 22, A));
        Assert.Equal(SshHostKeyCheck.Trusted, hosts.Check("a.b.example.com", 22, A));
        Assert.Equal(SshHostKeyCheck.Mismatch, hosts.Check("www.example.com", 22, B));
        Assert.Equal(SshHostKeyCheck.Unknown, hosts.Check("bad.example.com", 22, A));
        Assert.Equal(SshHostKeyCheck.Unknown, hosts.Check("bad.example.com", 22, B));
        Assert.Equal(SshHostKeyCheck.Unknown, hosts.Check("example.com", 22, A));
        Assert.Equal(SshHostKeyCheck.Unknown, hosts.Check("www.example.com", 2222, A));
        Assert.Equal(SshHostKeyCheck.Trusted, hosts.Check("host1.lan", 22, A));
        Assert.Equal(SshHostKeyCheck.Unknown, hosts.Check("host12.lan", 22, A));
        Assert.Equal(SshHostKeyCheck.Unknown, hosts.Check("host.lan", 22, A));
        Assert.Equal(SshHostKeyCheck.Trusted, hosts.Check("db.port.test", 2345, A));
        Assert.Equal(SshHostKeyCheck.Unknown, hosts.Check("db.port.test", 22, A));
    }

    [Fact]
    public void A_negated_line_does_not_hide_another_line_for_the_host()
    {
        var hosts = SshKnownHosts.Parse($"*,!secret.lan {A.ToOpenSshString()}\nsecret.lan {B.ToOpenSshString()}\n");
        Assert.Equal(SshHostKeyCheck.Mismatch, hosts.Check("secret.lan", 22, A));
        Assert.Equal(SshHostKeyCheck.Trusted, hosts.Check("secret.lan", 22, B));
        Assert.Equal(SshHostKeyCheck.Trusted, hosts.Check("other.lan", 22, A));
        Assert.Equal(SshHostKeyCheck.Mismatch, hosts.Check("other.lan", 22, B));
    }

    [Fact]
    public void A_revoked_key_is_revoked_for_every_host()
    {
        var hosts = SshKnownHosts.Parse($"""
            example.com {A.ToOpenSshString()}
            @revoked nowhere.invalid {A.ToOpenSshString()}
            """);
        Assert.Equal(2, hosts.Count);
        Assert.Equal(SshHostKeyCheck.Revoked, hosts.Check("example.com", 22, A));
        Assert.Equal(SshHostKeyCheck.Revoked, hosts.Check("anything.else", 2222, A));
        Assert.Equal(SshHostKeyCheck.Mismatch, hosts.Check("example.com", 22, B));
        Assert.Equal(SshHostKeyCheck.Unknown, hosts.Check("nowhere.invalid", 22, B));
    }

    [Fact]
    public void A_cert_authority_line_never_matches_a_plain_host_key()
    {
        var hosts = SshKnownHosts.Parse($"@cert-authority *.example.com {A.ToOpenSshString()}\n");
        Assert.Equal(1, hosts.Count);
        Assert.Equal(SshHostKeyCheck.Unknown, hosts.Check("www.example.com", 22, A));
        Assert.Equal(SshHostKeyCheck.Unknown, hosts.Check("www.example.com", 22, B));
    }

    [Fact]
    public void A_key_of_a_type_wire_does_not_use_still_makes_another_key_a_mismatch()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var q = p384.ExportParameters(false).Q;
        using var writer = new SshWriter();
        byte[] point = [4, .. q.X!, .. q.Y!];
        writer.String("ecdsa-sha2-nistp384").String("nistp384").String(point);
        string line = "example.com ecdsa-sha2-nistp384 " + Convert.ToBase64String(writer.Written);
        var hosts = SshKnownHosts.Parse(line);
        Assert.Equal(0, hosts.SkippedLines);
        Assert.Equal(SshHostKeyCheck.Mismatch, hosts.Check("example.com", 22, A));
    }

    [Fact]
    public void Malformed_lines_are_skipped_and_counted()
    {
        string key = Convert.ToBase64String(A.Blob);
        var hosts = SshKnownHosts.Parse($"""
            # a comment
               # an indented comment

            good.example {A.ToOpenSshString()}
            onlyahost
            host ssh-ed25519
            host ssh-ed25519 !!!notbase64!!!
            host ssh-rsa {key}
            host ssh-ed25519 AAAA
            @bogus host ssh-ed25519 {key}
            @revoked
            @revoked ssh-ed25519 {key}
            |1|bad|bad ssh-ed25519 {key}
            |2|{Convert.ToBase64String(new byte[20])}|{Convert.ToBase64String(new byte[20])} ssh-ed25519 {key}
            |1|{Convert.ToBase64String(new byte[19])}|{Convert.ToBase64String(new byte[20])} ssh-ed25519 {key}
            host,,other ssh-ed25519 {key}
            host,! ssh-ed25519 {key}
            also.good {B.ToOpenSshString()} trailing comment
            """);
        Assert.Equal(13, hosts.SkippedLines);
        Assert.Equal(2, hosts.Count);
        Assert.Equal(SshHostKeyCheck.Trusted, hosts.Check("good.example", 22, A));
        Assert.Equal(SshHostKeyCheck.Trusted, hosts.Check("also.good", 22, B));
        Assert.Equal(SshHostKeyCheck.Unknown, hosts.Check("host", 22, A));
    }

    [Fact]
    public void Empty_text_knows_no_host()
    {
        var hosts = SshKnownHosts.Parse("");
        Assert.Equal(0, hosts.Count);
        Assert.Equal(SshHostKeyCheck.Unknown, hosts.Check("example.com", 22, A));
    }

    [Theory]
    [InlineData("a", "a", true)]
    [InlineData("a", "b", false)]
    [InlineData("", "*", true)]
    [InlineData("abc", "*", true)]
    [InlineData("abc", "a*c", true)]
    [InlineData("abc", "a*b", false)]
    [InlineData("abcbc", "*bc", true)]
    [InlineData("abc", "a?c", true)]
    [InlineData("ac", "a?c", false)]
    [InlineData("a.b.c", "*.*", true)]
    [InlineData("aaa", "a*a*a*a", false)]
    public void Glob_matches_like_openssh(string text, string pattern, bool expected) =>
        Assert.Equal(expected, SshKnownHosts.Glob(text, pattern));
}
