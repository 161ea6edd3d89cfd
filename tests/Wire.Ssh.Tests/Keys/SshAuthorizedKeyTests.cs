using System.Security.Cryptography;
using Wire.Ssh.Keys;
using Wire.Ssh.Protocol;

namespace Wire.Ssh.Tests.Keys;

public sealed class SshAuthorizedKeyTests(GeneratedKeys keys) : IClassFixture<GeneratedKeys>
{
    public static TheoryData<string> Names => new() { "ed25519", "ecdsa", "rsa" };

    [Theory]
    [MemberData(nameof(Names))]
    public void A_line_from_an_ssh_keygen_pub_file_is_read(string name)
    {
        var entry = SshAuthorizedKey.Parse(keys.Tool.PublicLine(name));
        Assert.Equal(keys.Tool.PublicKey(name), entry.Key);
        Assert.Empty(entry.Options);
        Assert.Equal("comment", entry.Comment);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Options_before_the_key_are_read(string name)
    {
        string line = """from="10.0.0.0/8,192.168.0.0/16",command="echo \"hi, there\"",no-pty,No-Agent-Forwarding,environment="A=b c" """
            + keys.Tool.PublicLine(name);
        var entry = SshAuthorizedKey.Parse(line);
        Assert.Equal(keys.Tool.PublicKey(name), entry.Key);
        Assert.Equal("comment", entry.Comment);
        Assert.Equal(5, entry.Options.Count);
        Assert.Equal("10.0.0.0/8,192.168.0.0/16", entry.Options["from"]);
        Assert.Equal("echo \"hi, there\"", entry.Options["command"]);
        Assert.Equal("A=b c", entry.Options["environment"]);
        Assert.Null(entry.Options["no-pty"]);
        Assert.Null(entry.Options["no-agent-forwarding"]);
        Assert.Contains("no-agent-forwarding", entry.Options.Keys);
        Assert.Equal("10.0.0.0/8,192.168.0.0/16", entry.Options["FROM"]);
    }

    [Fact]
    public void The_comment_may_hold_spaces_or_be_missing()
    {
        string[] fields = keys.Tool.PublicLine("ed25519").Split(' ');
        Assert.Equal("alice@laptop and more", SshAuthorizedKey.Parse($"{fields[0]} {fields[1]}   alice@laptop and more  ").Comment);
        Assert.Null(SshAuthorizedKey.Parse($"{fields[0]} {fields[1]}").Comment);
        var tabbed = SshAuthorizedKey.Parse($"  restrict,pty\t{fields[0]}\t{fields[1]}\tc\n");
        Assert.Equal("c", tabbed.Comment);
        Assert.Equal(new[] { "pty", "restrict" }, tabbed.Options.Keys.Order());
    }

    [Fact]
    public void A_quoted_value_may_hold_a_backslash_that_escapes_nothing()
    {
        string[] fields = keys.Tool.PublicLine("ed25519").Split(' ');
        var entry = SshAuthorizedKey.Parse("command=\"C:\\dir\\ \\\"x\\\"\" " + fields[0] + " " + fields[1]);
        Assert.Equal("C:\\dir\\ \"x\"", entry.Options["command"]);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("# ssh-ed25519 AAAA", "comment")]
    [InlineData("ssh-ed25519", "no key after")]
    [InlineData("ssh-ed25519 !!!!", "base64")]
    [InlineData("ssh-ed25519 AAAA", "malformed")]
    [InlineData("no-pty", "no key type")]
    [InlineData("no-pty ssh-ed25519", "no key after")]
    [InlineData("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "unsupported key type ssh-dss")]
    [InlineData("sk-ssh-ed25519@openssh.com AAAA", "unsupported key type sk-ssh-ed25519@openssh.com")]
    [InlineData("no-pty foo AAAA", "unsupported key type foo")]
    [InlineData("from=\"10.0.0.1 ssh-ed25519 AAAA", "closing quote")]
    [InlineData("from=10.0.0.1 ssh-ed25519 AAAA", "double quotes")]
    [InlineData("no-pty,,restrict ssh-ed25519 AAAA", "empty option")]
    [InlineData(",no-pty ssh-ed25519 AAAA", "empty option")]
    [InlineData("no-pty, ssh-ed25519 AAAA", "end with a comma")]
    [InlineData("no-pty,no-pty ssh-ed25519 AAAA", "more than once")]
    [InlineData("no-pty,NO-PTY ssh-ed25519 AAAA", "more than once")]
    [InlineData("from=\"a\"x ssh-ed25519 AAAA", "instead of a comma")]
    [InlineData("no_pty ssh-ed25519 AAAA", "instead of a comma")]
    [InlineData("{bad} ssh-ed25519 AAAA", "malformed option")]
    public void A_bad_line_is_refused_naming_the_problem(string line, string message)
    {
        var e = Assert.Throws<FormatException>(() => SshAuthorizedKey.Parse(line));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_key_whose_type_field_is_not_its_blobs_is_refused()
    {
        string[] ed25519 = keys.Tool.PublicLine("ed25519").Split(' ');
        var e = Assert.Throws<FormatException>(() => SshAuthorizedKey.Parse($"ssh-rsa {ed25519[1]}"));
        Assert.Contains("says ssh-rsa", e.Message);
    }

    [Fact]
    public void Keys_wire_does_not_use_are_refused()
    {
        using var tool = new SshKeygen();
        tool.Generate("p384", "ecdsa", 384);
        var e = Assert.Throws<FormatException>(() => SshAuthorizedKey.Parse("no-pty " + tool.PublicLine("p384")));
        Assert.Contains("unsupported key type ecdsa-sha2-nistp384", e.Message);

        // A short RSA key, built here (ssh-keygen's smallest is still 1024 bits).
        using var rsa = RSA.Create(1024);
        var parameters = rsa.ExportParameters(false);
        using var writer = new SshWriter(300);
        writer.String(SshPublicKey.Rsa).Mpint(parameters.Exponent).Mpint(parameters.Modulus);
        e = Assert.Throws<FormatException>(() => SshAuthorizedKey.Parse("ssh-rsa " + Convert.ToBase64String(writer.Written)));
        Assert.Contains("2048", e.Message);
    }
}
