using Wire.Enforcement.Masking;
using static Wire.Enforcement.Tests.Masking.MaskingTestSupport;

namespace Wire.Enforcement.Tests.Masking;

public sealed class JwtDetectorTests
{
    public const string Token =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

    [Fact]
    public void Finds_a_token_alone_and_after_bearer()
    {
        Assert.Equal([Token], Matches(Token, DetectorKinds.Jwt));
        Assert.Equal([Token], Matches($"Authorization: Bearer {Token}\r\n", DetectorKinds.Jwt));
        Assert.Equal([Token], Matches($"{{\"access_token\":\"{Token}\"}}", DetectorKinds.Jwt));
        Assert.Equal([Token], Matches($"token={Token}&x=1", DetectorKinds.Jwt));
        Assert.Equal([Token], Matches($"see {Token}.", DetectorKinds.Jwt));
    }

    [Fact]
    public void Includes_further_segments_of_an_encrypted_token()
    {
        const string jwe = "eyJhbGciOiJSU0EtT0FFUCJ9.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGe.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6ji.XFBoMYUZodetZdvTiFvSkQ";
        Assert.Equal([jwe], Matches(jwe, DetectorKinds.Jwt));
    }

    [Theory]
    [InlineData("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0")]
    [InlineData("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.")]
    [InlineData("eyJhbGciOiJIUzI1NiJ9..c2ln")]
    [InlineData("abcJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln")]
    [InlineData("xeyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln")]
    [InlineData("a.eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln")]
    [InlineData("eyJ")]
    public void Ignores_near_misses(string text) => Assert.Empty(Matches(text, DetectorKinds.Jwt));
}
