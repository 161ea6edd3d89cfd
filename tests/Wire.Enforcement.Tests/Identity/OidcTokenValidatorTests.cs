using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;
using Wire.Enforcement.Identity;

namespace Wire.Enforcement.Tests.Identity;

/// <summary>OIDC validation with keys from a JWKS file and a hand-driven clock.</summary>
public sealed class OidcTokenValidatorTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    // Key generation is the slow part of these tests: one set of keys per class, shared by its tests.
    private static readonly TestSigner RsaKey = TestSigner.Rsa("rsa-1");
    private static readonly TestSigner EcKey = TestSigner.EcP256("ec-1");
    private static readonly TestSigner ImpostorSameKid = TestSigner.Rsa("rsa-1");
    private static readonly TestSigner ImpostorUnknownKid = TestSigner.Rsa("unknown");
    private readonly ManualTimeProvider _clock = new(TestSigner.Now);
    private readonly CapturingLogger _log = new();
    private readonly string _jwksFile;

    public OidcTokenValidatorTests()
    {
        _jwksFile = _temp.Write("jwks.json", TestSigner.JwksJson(RsaKey, EcKey));
    }

    public void Dispose() => _temp.Dispose();

    private OidcTokenValidator Create(Action<OidcOptions>? configure = null)
    {
        var options = new OidcOptions { Issuer = TestSigner.Issuer, Audience = TestSigner.Audience, JwksFile = _jwksFile };
        configure?.Invoke(options);
        return new OidcTokenValidator(options, _clock, _log);
    }

    private async Task<IdentityValidationResult> ValidateAsync(string token, Action<OidcOptions>? configure = null)
    {
        using var validator = Create(configure);
        var result = await validator.ValidateAsync(token, CancellationToken.None);
        // Whatever the outcome, the token text never reaches a reason or a log line.
        Assert.DoesNotContain(token, result.FailureReason ?? "");
        Assert.DoesNotContain(token, _log.AllText());
        return result;
    }

    private static void AssertRejected(IdentityValidationResult result, string reason)
    {
        Assert.False(result.Succeeded);
        Assert.Null(result.Identity);
        Assert.Equal(reason, result.FailureReason);
    }

    [Fact]
    public async Task Accepts_RS256_with_subject_and_array_groups()
    {
        var result = await ValidateAsync(RsaKey.CreateToken());

        Assert.True(result.Succeeded, result.FailureReason);
        Assert.Equal("alice", result.Identity!.Subject);
        Assert.Equal(["dba", "ops"], result.Identity.Groups);
        Assert.Equal("oidc", result.Identity.Method);
    }

    [Fact]
    public async Task Accepts_a_single_string_group()
    {
        var token = RsaKey.CreateToken(claims: new Dictionary<string, object> { ["sub"] = "alice", ["groups"] = "dba" });

        var result = await ValidateAsync(token);

        Assert.Equal(["dba"], result.Identity!.Groups);
    }

    [Fact]
    public async Task Missing_groups_claim_means_no_groups()
    {
        var token = RsaKey.CreateToken(claims: new Dictionary<string, object> { ["sub"] = "alice" });

        var result = await ValidateAsync(token);

        Assert.True(result.Succeeded, result.FailureReason);
        Assert.Empty(result.Identity!.Groups);
    }

    [Fact]
    public async Task Refuses_groups_that_are_not_strings()
    {
        var token = RsaKey.CreateToken(claims: new Dictionary<string, object> { ["sub"] = "alice", ["groups"] = 42 });

        AssertRejected(await ValidateAsync(token), "groups claim is not a string or an array of strings");
    }

    [Fact]
    public async Task Accepts_ES256()
    {
        var result = await ValidateAsync(EcKey.CreateToken(SecurityAlgorithms.EcdsaSha256));

        Assert.True(result.Succeeded, result.FailureReason);
        Assert.Equal("alice", result.Identity!.Subject);
    }

    [Fact]
    public async Task Accepts_PS256()
    {
        var result = await ValidateAsync(RsaKey.CreateToken(SecurityAlgorithms.RsaSsaPssSha256));

        Assert.True(result.Succeeded, result.FailureReason);
    }

    [Theory]
    [InlineData(SecurityAlgorithms.RsaSha384)]
    [InlineData(SecurityAlgorithms.RsaSha512)]
    [InlineData(SecurityAlgorithms.RsaSsaPssSha384)]
    public async Task Refuses_other_RSA_algorithms(string algorithm)
    {
        var result = await ValidateAsync(RsaKey.CreateToken(algorithm));

        AssertRejected(result, "signing algorithm not allowed");
    }

    [Fact]
    public async Task Refuses_HS256()
    {
        var key = new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32)) { KeyId = "rsa-1" };
        var token = TestSigner.CreateToken(new SigningCredentials(key, SecurityAlgorithms.HmacSha256));

        var result = await ValidateAsync(token);

        AssertRejected(result, "signing algorithm not allowed");
    }

    [Fact]
    public async Task Refuses_alg_none()
    {
        var result = await ValidateAsync(TestSigner.CreateUnsignedToken());

        AssertRejected(result, "signing algorithm not allowed");
    }

    [Fact]
    public async Task Refuses_a_signature_by_another_key_with_the_same_kid()
    {
        var result = await ValidateAsync(ImpostorSameKid.CreateToken());

        AssertRejected(result, "invalid signature");
    }

    [Fact]
    public async Task Refuses_a_signature_by_an_unknown_key()
    {
        var result = await ValidateAsync(ImpostorUnknownKid.CreateToken());

        AssertRejected(result, "signing key not found");
    }

    [Fact]
    public async Task Refuses_a_wrong_issuer()
    {
        AssertRejected(await ValidateAsync(RsaKey.CreateToken(issuer: "https://evil.example.test/")), "issuer not accepted");
    }

    [Fact]
    public async Task Refuses_a_wrong_audience()
    {
        AssertRejected(await ValidateAsync(RsaKey.CreateToken(audience: "someone-else")), "audience not accepted");
    }

    [Fact]
    public async Task Refuses_a_token_expired_beyond_the_clock_skew()
    {
        var token = RsaKey.CreateToken(notBefore: TestSigner.Now.AddHours(-1), expires: TestSigner.Now.AddSeconds(-61));

        AssertRejected(await ValidateAsync(token), "token expired");
    }

    [Fact]
    public async Task Accepts_a_token_expired_within_the_clock_skew()
    {
        var token = RsaKey.CreateToken(notBefore: TestSigner.Now.AddHours(-1), expires: TestSigner.Now.AddSeconds(-59));

        Assert.True((await ValidateAsync(token)).Succeeded);
    }

    [Fact]
    public async Task Refuses_a_token_not_yet_valid_beyond_the_clock_skew()
    {
        var token = RsaKey.CreateToken(notBefore: TestSigner.Now.AddSeconds(61), expires: TestSigner.Now.AddHours(1));

        AssertRejected(await ValidateAsync(token), "token not yet valid");
    }

    [Fact]
    public async Task Accepts_a_token_not_yet_valid_within_the_clock_skew()
    {
        var token = RsaKey.CreateToken(notBefore: TestSigner.Now.AddSeconds(59), expires: TestSigner.Now.AddHours(1));

        Assert.True((await ValidateAsync(token)).Succeeded);
    }

    [Fact]
    public async Task Time_comes_from_the_injected_clock()
    {
        using var validator = Create();
        var token = RsaKey.CreateToken(expires: TestSigner.Now.AddMinutes(5));

        Assert.True((await validator.ValidateAsync(token, CancellationToken.None)).Succeeded);
        _clock.Now = TestSigner.Now.AddMinutes(7);
        AssertRejected(await validator.ValidateAsync(token, CancellationToken.None), "token expired");
    }

    [Fact]
    public async Task Refuses_a_token_without_expiry()
    {
        AssertRejected(await ValidateAsync(RsaKey.CreateToken(withExpiry: false)), "token has no expiration");
    }

    [Fact]
    public async Task Honors_custom_subject_and_groups_claims()
    {
        var token = RsaKey.CreateToken(claims: new Dictionary<string, object>
        {
            ["sub"] = "opaque-id",
            ["email"] = "alice@example.test",
            ["groups"] = new[] { "ignored" },
            ["roles"] = new[] { "admin", "auditor" },
        });

        var result = await ValidateAsync(token, o =>
        {
            o.SubjectClaim = "email";
            o.GroupsClaim = "roles";
        });

        Assert.Equal("alice@example.test", result.Identity!.Subject);
        Assert.Equal(["admin", "auditor"], result.Identity.Groups);
    }

    [Fact]
    public async Task Refuses_a_token_without_the_subject_claim()
    {
        var token = RsaKey.CreateToken(claims: new Dictionary<string, object> { ["groups"] = new[] { "dba" } });

        AssertRejected(await ValidateAsync(token), "missing or empty subject claim");
    }

    [Fact]
    public async Task Refuses_an_empty_subject()
    {
        var token = RsaKey.CreateToken(claims: new Dictionary<string, object> { ["sub"] = "" });

        AssertRejected(await ValidateAsync(token), "missing or empty subject claim");
    }

    [Fact]
    public async Task Refuses_a_subject_from_a_custom_claim_that_is_missing()
    {
        var result = await ValidateAsync(RsaKey.CreateToken(), o => o.SubjectClaim = "email");

        AssertRejected(result, "missing or empty subject claim");
    }

    [Theory]
    [InlineData("")]
    [InlineData("not a jwt")]
    [InlineData("aaa.bbb.ccc")]
    [InlineData("eyJhbGciOiJSUzI1NiJ9.e30")]
    public async Task Refuses_malformed_tokens_without_throwing(string token)
    {
        using var validator = Create();

        var result = await validator.ValidateAsync(token, CancellationToken.None);

        Assert.False(result.Succeeded);
    }

    [Fact]
    public async Task Refuses_a_tampered_payload()
    {
        var parts = RsaKey.CreateToken().Split('.');
        var payload = Base64UrlEncoder.Decode(parts[1]).Replace("alice", "admin", StringComparison.Ordinal);
        var tampered = parts[0] + "." + Base64UrlEncoder.Encode(payload) + "." + parts[2];

        AssertRejected(await ValidateAsync(tampered), "invalid signature");
    }

    [Fact]
    public void A_missing_jwks_file_is_a_clear_startup_error()
    {
        var missing = Path.Combine(_temp.Path, "nope.json");

        var ex = Assert.Throws<InvalidOperationException>(() => Create(o => o.JwksFile = missing));

        Assert.Contains(missing, ex.Message);
    }

    [Theory]
    [InlineData("{ not json")]
    [InlineData("""{"keys":[]}""")]
    [InlineData("")]
    public void An_invalid_jwks_file_is_a_clear_startup_error(string content)
    {
        var file = _temp.Write("bad.json", content);

        var ex = Assert.Throws<InvalidOperationException>(() => Create(o => o.JwksFile = file));

        Assert.Contains(file, ex.Message);
    }

    [Fact]
    public void Only_RS256_ES256_and_PS256_are_allowed()
    {
        Assert.Equal(["RS256", "ES256", "PS256"], OidcTokenValidator.AllowedAlgorithms);
        Assert.Equal(TimeSpan.FromSeconds(60), OidcTokenValidator.ClockSkew);
    }
}
