using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Wire.Enforcement.Identity;

namespace Wire.Enforcement.Tests.Identity;

/// <summary>OIDC validation with keys from a discovery document served on loopback.</summary>
public sealed class OidcDiscoveryTests : IDisposable
{
    private static readonly TestSigner K1 = TestSigner.Rsa("k1");
    private static readonly TestSigner K2 = TestSigner.Rsa("k2");
    private static readonly TestSigner Stranger = TestSigner.Rsa("stranger");
    private readonly ManualTimeProvider _clock = new(TestSigner.Now);
    private readonly CapturingLogger _log = new();
    private readonly DiscoveryServer _server;

    public OidcDiscoveryTests()
    {
        _server = new DiscoveryServer(TestSigner.JwksJson(K1));
    }

    public void Dispose() => _server.Dispose();

    private OidcTokenValidator Create(string? metadataAddress = null, TimeSpan? timeout = null) => new(
        new OidcOptions
        {
            Issuer = _server.Issuer,
            Audience = TestSigner.Audience,
            RequireHttpsMetadata = false,
            MetadataAddress = metadataAddress,
        },
        _clock,
        _log,
        timeout ?? TimeSpan.FromSeconds(5));

    [Fact]
    public async Task Validates_a_token_with_keys_from_the_discovery_document_and_caches_them()
    {
        using var validator = Create();

        var first = await validator.ValidateAsync(K1.CreateToken(issuer: _server.Issuer), CancellationToken.None);
        var second = await validator.ValidateAsync(K1.CreateToken(issuer: _server.Issuer), CancellationToken.None);

        Assert.True(first.Succeeded, first.FailureReason);
        Assert.Equal("alice", first.Identity!.Subject);
        Assert.Equal(["dba", "ops"], first.Identity.Groups);
        Assert.True(second.Succeeded, second.FailureReason);
        Assert.Equal(1, _server.DiscoveryRequests);
        Assert.Equal(1, _server.JwksRequests);
    }

    [Fact]
    public async Task Uses_an_explicit_metadata_address()
    {
        using var validator = Create(metadataAddress: _server.BaseAddress + ".well-known/openid-configuration");

        var result = await validator.ValidateAsync(K1.CreateToken(issuer: _server.Issuer), CancellationToken.None);

        Assert.True(result.Succeeded, result.FailureReason);
    }

    [Fact]
    public async Task Refuses_a_token_from_another_issuer_even_with_a_good_key()
    {
        using var validator = Create();

        var result = await validator.ValidateAsync(K1.CreateToken(issuer: "https://other.example.test"), CancellationToken.None);

        Assert.Equal("issuer not accepted", result.FailureReason);
    }

    [Fact]
    public async Task Refreshes_the_keys_once_when_a_token_names_an_unknown_kid()
    {
        using var validator = Create();
        Assert.True((await validator.ValidateAsync(K1.CreateToken(issuer: _server.Issuer), CancellationToken.None)).Succeeded);

        // The issuer rotates in a new key after Wire cached the old set.
        _server.Jwks = TestSigner.JwksJson(K1, K2);
        var rotated = await validator.ValidateAsync(K2.CreateToken(issuer: _server.Issuer), CancellationToken.None);

        Assert.True(rotated.Succeeded, rotated.FailureReason);
        Assert.Equal(2, _server.JwksRequests);
        Assert.Contains(_log.Entries, e => e.Id.Id == 2103);
    }

    [Fact]
    public async Task Unknown_kids_do_not_hammer_the_issuer()
    {
        using var validator = Create();

        for (var i = 0; i < 5; i++)
        {
            var result = await validator.ValidateAsync(Stranger.CreateToken(issuer: _server.Issuer), CancellationToken.None);
            Assert.False(result.Succeeded);
        }

        // The initial fetch plus at most one refresh: the manager rate-limits refresh requests.
        Assert.InRange(_server.JwksRequests, 1, 2);
    }

    [Fact]
    public async Task An_unreachable_discovery_address_fails_closed_quickly()
    {
        // A port nobody listens on: the connection is refused.
        var address = $"http://127.0.0.1:{DiscoveryServer.FreePort()}/.well-known/openid-configuration";
        using var validator = Create(metadataAddress: address, timeout: TimeSpan.FromSeconds(2));
        var token = K1.CreateToken(issuer: _server.Issuer);
        var stopwatch = Stopwatch.StartNew();

        var first = await validator.ValidateAsync(token, CancellationToken.None);
        var second = await validator.ValidateAsync(token, CancellationToken.None);

        Assert.Equal("OIDC signing keys unavailable", first.FailureReason);
        Assert.False(second.Succeeded);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"took {stopwatch.Elapsed}");
        Assert.Contains(_log.Entries, e => e.Id.Id == 2102);
        Assert.DoesNotContain(token, _log.AllText());
    }

    [Fact]
    public async Task A_discovery_endpoint_that_never_answers_fails_closed_within_the_timeout()
    {
        // Accepts connections and never replies, so only the request timeout ends the wait.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        using var validator = Create(
            metadataAddress: $"http://127.0.0.1:{port}/.well-known/openid-configuration",
            timeout: TimeSpan.FromMilliseconds(500));
        var stopwatch = Stopwatch.StartNew();

        var result = await validator.ValidateAsync(K1.CreateToken(issuer: _server.Issuer), CancellationToken.None);

        Assert.Equal("OIDC signing keys unavailable", result.FailureReason);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"took {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task A_missing_discovery_document_fails_closed()
    {
        using var validator = Create(metadataAddress: _server.BaseAddress + "missing");

        var result = await validator.ValidateAsync(K1.CreateToken(issuer: _server.Issuer), CancellationToken.None);

        Assert.Equal("OIDC signing keys unavailable", result.FailureReason);
    }

    [Fact]
    public void Plain_http_discovery_is_refused_when_https_is_required()
    {
        var ex = Assert.Throws<ArgumentException>(() => new OidcTokenValidator(new OidcOptions
        {
            Issuer = _server.Issuer,
            Audience = TestSigner.Audience,
        }));

        Assert.Contains("HTTPS", ex.Message);
    }

    [Fact]
    public async Task Cancellation_is_not_reported_as_a_bad_token()
    {
        using var validator = Create();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            async () => await validator.ValidateAsync(K1.CreateToken(issuer: _server.Issuer), cancelled.Token));
    }
}
