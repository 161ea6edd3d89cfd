using Wire.Enforcement.Masking;
using static Wire.Enforcement.Tests.Masking.MaskingTestSupport;

namespace Wire.Enforcement.Tests.Masking;

public sealed class PemDetectorTests
{
    private const string Body = "MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\nKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n";

    [Theory]
    [InlineData("PRIVATE KEY")]
    [InlineData("RSA PRIVATE KEY")]
    [InlineData("EC PRIVATE KEY")]
    [InlineData("DSA PRIVATE KEY")]
    [InlineData("OPENSSH PRIVATE KEY")]
    [InlineData("ENCRYPTED PRIVATE KEY")]
    [InlineData("PGP PRIVATE KEY BLOCK")]
    public void Finds_private_key_blocks_through_the_end_line(string label)
    {
        string block = $"-----BEGIN {label}-----\n{Body}-----END {label}-----";
        Assert.Equal([block], Matches(block, DetectorKinds.Pem));
        Assert.Equal([block], Matches($"key:\n{block}\nnext line", DetectorKinds.Pem));
        Assert.Equal([block.Replace("\n", "\r\n", StringComparison.Ordinal)], Matches(block.Replace("\n", "\r\n", StringComparison.Ordinal), DetectorKinds.Pem));
    }

    [Fact]
    public void Finds_a_block_escaped_inside_json_and_leaves_the_quotes()
    {
        string escaped = $"-----BEGIN PRIVATE KEY-----\\n{Body.Replace("\n", "\\n", StringComparison.Ordinal)}-----END PRIVATE KEY-----";
        Assert.Equal([escaped], Matches($"{{\"key\":\"{escaped}\",\"n\":1}}", DetectorKinds.Pem));
    }

    [Fact]
    public void Finds_a_legacy_encrypted_block_with_headers()
    {
        string block = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F17F5316E2BAC89\n\n" + Body + "-----END RSA PRIVATE KEY-----";
        Assert.Equal([block], Matches(block, DetectorKinds.Pem));
    }

    [Fact]
    public void A_cut_block_runs_as_far_as_its_body_goes()
    {
        string cut = "-----BEGIN PRIVATE KEY-----\n" + Body;
        Assert.Equal([cut.TrimEnd('\n')], Matches(cut, DetectorKinds.Pem));
        Assert.Equal([cut.TrimEnd('\n')], Matches("\"" + cut + "\"", DetectorKinds.Pem));
    }

    [Fact]
    public void A_mismatched_end_line_does_not_end_the_block()
    {
        string text = "-----BEGIN RSA PRIVATE KEY-----\n" + Body + "-----END PRIVATE KEY-----\n-----END RSA PRIVATE KEY-----";
        Assert.Equal([text], Matches(text, DetectorKinds.Pem));
    }

    [Fact]
    public void Two_blocks_are_two_matches()
    {
        string one = $"-----BEGIN EC PRIVATE KEY-----\n{Body}-----END EC PRIVATE KEY-----";
        Assert.Equal([one, one], Matches($"{one}\n\n{one}\n", DetectorKinds.Pem));
    }

    [Theory]
    [InlineData("-----BEGIN PUBLIC KEY-----\nMFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf\n-----END PUBLIC KEY-----")]
    [InlineData("-----BEGIN CERTIFICATE-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf\n-----END CERTIFICATE-----")]
    [InlineData("-----BEGIN RSA PUBLIC KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf\n-----END RSA PUBLIC KEY-----")]
    [InlineData("------BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----")]
    [InlineData("-----BEGIN PRIVATE KEY----\nMIIB\n-----END PRIVATE KEY-----")]
    [InlineData("-----BEGIN private key-----\nMIIB\n-----END private key-----")]
    [InlineData("-----BEGIN PRIVATE KEYS-----\nMIIB\n-----END PRIVATE KEYS-----")]
    [InlineData("---BEGIN PRIVATE KEY--")]
    [InlineData("-BEGIN PRIVATE KEY-----\nMIIB")]
    public void Ignores_public_material_and_malformed_lines(string text) => Assert.Empty(Matches(text, DetectorKinds.Pem));
}
