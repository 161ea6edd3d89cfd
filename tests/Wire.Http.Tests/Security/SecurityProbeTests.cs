using System.Text;
using Wire.Testing;

namespace Wire.Http.Tests.Security;

/// <summary>
/// The instruments of the security checklist's tests checked on their own, so that a passing "never found" means
/// something: <see cref="Secret"/> finds a value in every encoding at every position, and
/// <see cref="TlsProbe.OfferedVersions"/> reads what a real ClientHello (OpenSSL's) offers.
/// </summary>
public sealed class SecurityProbeTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("wire-security-probe-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void A_secret_is_found_raw_in_hex_and_in_base64_at_every_alignment_and_not_when_masked()
    {
        var secret = new Secret("s", "upstream-Pa55word/+?~");
        byte[] value = secret.Value;
        for (int before = 0; before < 6; before++)
        {
            byte[] buffer = [.. Enumerable.Repeat((byte)'x', before), .. value, .. "tail"u8];
            Assert.Equal("bytes", secret.FindIn(buffer));
            string base64 = Convert.ToBase64String(buffer);
            Assert.StartsWith("base64@", secret.FindIn(Encoding.ASCII.GetBytes("{\"data\":\"" + base64 + "\"}")), StringComparison.Ordinal);
            Assert.StartsWith("base64", secret.FindIn(Encoding.ASCII.GetBytes(base64.Replace('+', '-').Replace('/', '_'))), StringComparison.Ordinal);
            Assert.Equal("hex", secret.FindIn(Encoding.ASCII.GetBytes(Convert.ToHexStringLower(buffer))));
            Assert.Equal("HEX", secret.FindIn(Encoding.ASCII.GetBytes(Convert.ToHexString(buffer))));
        }
        Assert.Null(secret.FindIn(Encoding.ASCII.GetBytes(new string('*', value.Length))));
        Assert.Null(secret.FindIn(value.AsSpan(1)));
    }

    [Fact]
    public async Task The_versions_a_real_client_hello_offers_are_read()
    {
        using var certificate = TestCertificates.Shared.IssueServerCertificate();
        await using var server = await OpenSslServer.StartAsync(_directory, certificate, "tls1_2");
        await using var tap = TcpTap.Start(server.Port);
        foreach (string version in (string[])["tls1_3", "tls1_1"])
        {
            await TlsProbe.HandshakeAsync(tap.Port, version);
        }
        await TlsProbe.RunAsync("openssl", ["s_client", "-brief", "-connect", $"127.0.0.1:{tap.Port}"], TimeSpan.FromSeconds(15));

        Assert.True(await Eventually.WaitAsync(() => tap.Connections == 3 && tap.FromClient.All(b => b.Length > 0)), "three ClientHellos");
        Assert.Equal([(ushort)0x0304], TlsProbe.OfferedVersions(tap.FromClient[0]));
        // A TLS 1.1-only hello has no supported_versions: the reader does not pretend to know its minimum.
        Assert.Null(TlsProbe.OfferedVersions(tap.FromClient[1]));
        Assert.Contains((ushort)0x0303, TlsProbe.OfferedVersions(tap.FromClient[2])!);
        Assert.Contains((ushort)0x0304, TlsProbe.OfferedVersions(tap.FromClient[2])!);
        Assert.False(TlsProbe.HasApplicationData(tap.FromClient[1]));
    }
}
