using Wire.Enforcement.Identity;

namespace Wire.Enforcement.Tests.Identity;

public sealed class CompositeIdentityValidatorTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private static readonly TestSigner Signer = TestSigner.Rsa("k1");
    private readonly CapturingLogger _oidcLog = new();
    private readonly OidcTokenValidator _oidc;

    public CompositeIdentityValidatorTests()
    {
        var jwks = _temp.Write("jwks.json", TestSigner.JwksJson(Signer));
        _oidc = new OidcTokenValidator(
            new OidcOptions { Issuer = TestSigner.Issuer, Audience = TestSigner.Audience, JwksFile = jwks },
            new ManualTimeProvider(TestSigner.Now),
            _oidcLog);
    }

    public void Dispose()
    {
        _oidc.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task A_static_token_wins_over_oidc()
    {
        // A JWT that is also configured as a static token resolves to the static subject.
        var jwt = Signer.CreateToken();
        var composite = new CompositeIdentityValidator(
            new StaticTokenValidator([new StaticToken(jwt, "static-alice", ["static"])]), _oidc);

        var result = await composite.ValidateAsync(jwt, CancellationToken.None);

        Assert.Equal("static-alice", result.Identity!.Subject);
        Assert.Equal("static-token", result.Identity.Method);
    }

    [Fact]
    public async Task A_jwt_that_is_not_a_static_token_is_validated_by_oidc()
    {
        var composite = new CompositeIdentityValidator(
            new StaticTokenValidator([new StaticToken("dev", "dev", [])]), _oidc);

        var result = await composite.ValidateAsync(Signer.CreateToken(), CancellationToken.None);

        Assert.Equal("alice", result.Identity!.Subject);
        Assert.Equal("oidc", result.Identity.Method);
    }

    [Fact]
    public async Task A_token_that_is_not_jwt_shaped_never_reaches_oidc()
    {
        var composite = new CompositeIdentityValidator(new StaticTokenValidator([]), _oidc);

        var result = await composite.ValidateAsync("not-a-jwt", CancellationToken.None);

        Assert.False(result.Succeeded);
        Assert.Equal("unknown token", result.FailureReason);
        Assert.DoesNotContain(_oidcLog.Entries, e => e.Id.Name == "OidcTokenRejected");
    }

    [Fact]
    public async Task A_jwt_shaped_token_is_refused_when_oidc_is_not_configured()
    {
        var composite = new CompositeIdentityValidator(new StaticTokenValidator([]), oidc: null);

        var result = await composite.ValidateAsync(Signer.CreateToken(), CancellationToken.None);

        Assert.Equal("unknown token", result.FailureReason);
    }

    [Fact]
    public async Task Static_tokens_work_without_oidc_and_oidc_without_static_tokens()
    {
        var staticOnly = new CompositeIdentityValidator(new StaticTokenValidator([new StaticToken("dev", "dev", [])]), null);
        var oidcOnly = new CompositeIdentityValidator(null, _oidc);

        Assert.True((await staticOnly.ValidateAsync("dev", CancellationToken.None)).Succeeded);
        Assert.True((await oidcOnly.ValidateAsync(Signer.CreateToken(), CancellationToken.None)).Succeeded);
        Assert.False((await oidcOnly.ValidateAsync("dev", CancellationToken.None)).Succeeded);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\t\r\n")]
    public async Task Empty_or_whitespace_tokens_are_refused(string token)
    {
        var composite = new CompositeIdentityValidator(
            new StaticTokenValidator([new StaticToken(token.Length == 0 ? "x" : token, "odd", [])]), _oidc);

        var result = await composite.ValidateAsync(token, CancellationToken.None);

        Assert.False(result.Succeeded);
    }

    [Theory]
    [InlineData("aaa.bbb.ccc", true)]
    [InlineData("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln-_", true)]
    [InlineData("aaa.bbb.", true)]
    [InlineData("aaa.bbb", false)]
    [InlineData("aaa.bbb.ccc.ddd", false)]
    [InlineData("aaa.bbb.ccc.ddd.eee", false)]
    [InlineData(".bbb.ccc", false)]
    [InlineData("aaa..ccc", false)]
    [InlineData("aaa.bb+b.ccc", false)]
    [InlineData("aaa.bbb.cc=", false)]
    [InlineData("aaa.bbb.c c", false)]
    [InlineData("plain-password", false)]
    [InlineData("", false)]
    public void Recognizes_the_compact_jws_shape(string token, bool expected)
    {
        Assert.Equal(expected, CompositeIdentityValidator.IsCompactJws(token));
    }
}
