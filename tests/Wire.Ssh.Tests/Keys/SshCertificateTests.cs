using System.Net;
using Wire.Ssh.Keys;

namespace Wire.Ssh.Tests.Keys;

/// <summary>OpenSSH user certificates made by ssh-keygen -s: fields, the authority's signature, and the checks before a login.</summary>
public sealed class SshCertificateTests
{
    private static SshCertificate Certify(SshKeygen keys, string type, params string[] options)
    {
        if (!File.Exists(keys.PathOf("ca")))
        {
            keys.Generate("ca", "ed25519");
        }
        string name = "user-" + type;
        keys.Generate(name, type);
        SshKeygen.Run([.. new[] { "-q", "-s", keys.PathOf("ca"), "-I", "alice@laptop", "-n", "alice,ops", "-z", "42" }, .. options, keys.PathOf(name + ".pub")]);
        string line = File.ReadAllText(keys.PathOf(name + "-cert.pub"));
        return SshCertificate.Parse(Convert.FromBase64String(line.Split(' ')[1]));
    }

    [Theory]
    [InlineData("ed25519")]
    [InlineData("ecdsa")]
    [InlineData("rsa")]
    public void Reads_what_ssh_keygen_signs(string type)
    {
        using var keys = new SshKeygen();
        var certificate = Certify(keys, type, "-V", "-5m:+1h", "-O", "force-command=uptime", "-O", "source-address=127.0.0.1/32,10.0.0.0/8");
        Assert.Equal(keys.PublicKey("user-" + type), certificate.Key);
        Assert.Equal(keys.PublicKey("ca"), certificate.Authority);
        Assert.Equal(SshCertificate.UserType, certificate.Type);
        Assert.Equal(42ul, certificate.Serial);
        Assert.Equal("alice@laptop", certificate.KeyId);
        Assert.Equal(["alice", "ops"], certificate.Principals);
        Assert.Equal("uptime", certificate.ForceCommand);
        Assert.Contains("permit-pty", certificate.Extensions);
        Assert.Null(certificate.RefusalForUser(DateTimeOffset.UtcNow, IPAddress.Loopback));
        Assert.Null(certificate.RefusalForUser(DateTimeOffset.UtcNow, IPAddress.Parse("10.1.2.3")));
        Assert.Contains("source-address", certificate.RefusalForUser(DateTimeOffset.UtcNow, IPAddress.Parse("192.168.1.1")), StringComparison.Ordinal);
        Assert.Contains("validity", certificate.RefusalForUser(DateTimeOffset.UtcNow.AddHours(2), IPAddress.Loopback), StringComparison.Ordinal);
        Assert.Contains("validity", certificate.RefusalForUser(DateTimeOffset.UtcNow.AddHours(-1), IPAddress.Loopback), StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_critical_option_and_a_host_certificate_are_refused()
    {
        using var keys = new SshKeygen();
        var unknown = Certify(keys, "ed25519", "-O", "critical:frobnicate=yes");
        Assert.Contains("unknown critical option frobnicate", unknown.RefusalForUser(DateTimeOffset.UtcNow, IPAddress.Loopback), StringComparison.Ordinal);

        keys.Generate("host", "ed25519");
        SshKeygen.Run("-q", "-s", keys.PathOf("ca"), "-I", "host", "-h", "-n", "example.com", keys.PathOf("host.pub"));
        var host = SshCertificate.Parse(Convert.FromBase64String(File.ReadAllText(keys.PathOf("host-cert.pub")).Split(' ')[1]));
        Assert.Equal("not a user certificate", host.RefusalForUser(DateTimeOffset.UtcNow, IPAddress.Loopback));
    }

    [Fact]
    public void A_changed_byte_breaks_the_authoritys_signature_and_a_truncation_is_refused()
    {
        using var keys = new SshKeygen();
        Certify(keys, "ed25519");
        byte[] blob = Convert.FromBase64String(File.ReadAllText(keys.PathOf("user-ed25519-cert.pub")).Split(' ')[1]);
        // Flip a byte of the principals, validity and options area (past the key and serial).
        for (int offset = 120; offset < blob.Length - 120; offset += 7)
        {
            byte[] copy = blob.ToArray();
            copy[offset] ^= 0x01;
            Assert.ThrowsAny<FormatException>(() => SshCertificate.Parse(copy));
        }
        for (int length = 0; length < blob.Length; length += 5)
        {
            Assert.ThrowsAny<FormatException>(() => SshCertificate.Parse(blob.AsSpan(0, length)));
        }
    }
}
