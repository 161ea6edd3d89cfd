using System.Net;
using System.Text;
using System.Text.Json;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Tests.Identity;

namespace Wire.Enforcement.Tests.Faults;

/// <summary>
/// The OIDC key source (a real HTTP issuer on loopback) goes away: the keys fetched last carry logins until
/// <see cref="OidcTokenValidator.KeyLifetime"/> after that fetch, then every token is refused (fail closed) until the
/// issuer answers again. Time moves on the injected clock only.
/// </summary>
public sealed class OidcKeySourceFaultTests : IDisposable
{
    private static readonly TestSigner K1 = TestSigner.Rsa("fault-k1");
    private static readonly TestSigner K2 = TestSigner.Rsa("fault-k2");
    private readonly ManualTimeProvider _clock = new(TestSigner.Now);
    private readonly CapturingLogger _log = new();
    private readonly RestartableIssuer _issuer = new(TestSigner.JwksJson(K1));

    public void Dispose() => _issuer.Dispose();

    private OidcTokenValidator Create() => new(
        new OidcOptions { Issuer = _issuer.Issuer, Audience = TestSigner.Audience, RequireHttpsMetadata = false },
        _clock,
        _log,
        TimeSpan.FromSeconds(2));

    /// <summary>A token valid at the clock's current time (so that only the keys decide).</summary>
    private string Token(TestSigner signer) =>
        signer.CreateToken(issuer: _issuer.Issuer, notBefore: _clock.Now.AddMinutes(-1), expires: _clock.Now.AddMinutes(10));

    private async Task<IdentityValidationResult> ValidateAsync(OidcTokenValidator validator, string token)
    {
        // Every fetch here either answers or is refused at once; the 2 s request timeout bounds the rest.
        return await validator.ValidateAsync(token, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Cached_keys_carry_logins_while_the_source_is_down_until_they_expire_then_logins_fail_closed_until_it_answers()
    {
        using var validator = Create();
        var fetchedAt = _clock.Now;
        var first = await ValidateAsync(validator, Token(K1));
        Assert.True(first.Succeeded, first.FailureReason);
        Assert.Equal(1, _issuer.JwksRequests);

        _issuer.Stop();

        // Past the refresh interval: the refresh fails (and is logged), the cached keys still validate.
        _clock.Now = fetchedAt + OidcTokenValidator.KeyRefreshInterval + TimeSpan.FromMinutes(1);
        var stale = await ValidateAsync(validator, Token(K1));
        Assert.True(stale.Succeeded, stale.FailureReason + "\n" + _log.AllText());
        Assert.Contains(_log.Entries, e => e.Id.Id == 2102);

        // A token for a key the cache lacks cannot be checked while the source is down: refused, not waved through.
        _clock.Now += TimeSpan.FromMinutes(10);
        var unknown = await ValidateAsync(validator, Token(K2));
        Assert.False(unknown.Succeeded);

        // Just before the keys expire they still work.
        _clock.Now = fetchedAt + OidcTokenValidator.KeyLifetime - TimeSpan.FromMinutes(1);
        var late = await ValidateAsync(validator, Token(K1));
        Assert.True(late.Succeeded, late.FailureReason + "\n" + _log.AllText());

        // After: fail closed, with one log line that says why; the token never reaches the log.
        _clock.Now = fetchedAt + OidcTokenValidator.KeyLifetime + TimeSpan.FromMinutes(1);
        string expiredToken = Token(K1);
        var expired = await ValidateAsync(validator, expiredToken);
        Assert.False(expired.Succeeded);
        Assert.Equal("OIDC signing keys unavailable", expired.FailureReason);
        _clock.Now += TimeSpan.FromSeconds(30);
        var again = await ValidateAsync(validator, Token(K1));
        Assert.Equal("OIDC signing keys unavailable", again.FailureReason);
        Assert.Single(_log.Entries, e => e.Id.Id == 2105);
        Assert.DoesNotContain(expiredToken, _log.AllText(), StringComparison.Ordinal);

        // The source answers again (with a rotated key set): logins work at the next attempt.
        _issuer.Jwks = TestSigner.JwksJson(K1, K2);
        _issuer.Start();
        _clock.Now += TimeSpan.FromMinutes(1);
        var recovered = await ValidateAsync(validator, Token(K2));
        Assert.True(recovered.Succeeded, recovered.FailureReason + "\n" + _log.AllText());
        Assert.Equal(2, _issuer.JwksRequests);
    }

    [Fact]
    public async Task An_issuer_that_answers_with_an_error_is_the_same_as_an_unreachable_one()
    {
        using var validator = Create();
        Assert.True((await ValidateAsync(validator, Token(K1))).Succeeded);

        // The issuer is up but its key endpoint fails (500): the cached keys are kept, never replaced by nothing.
        _issuer.FailJwks = true;
        var fetchedAt = TestSigner.Now;
        _clock.Now = fetchedAt + OidcTokenValidator.KeyRefreshInterval + TimeSpan.FromMinutes(1);
        var stale = await ValidateAsync(validator, Token(K1));
        Assert.True(stale.Succeeded, stale.FailureReason);
        Assert.True(_issuer.JwksRequests >= 2, "the refresh was not attempted");

        _clock.Now = fetchedAt + OidcTokenValidator.KeyLifetime + TimeSpan.FromMinutes(1);
        var expired = await ValidateAsync(validator, Token(K1));
        Assert.Equal("OIDC signing keys unavailable", expired.FailureReason);
    }

    /// <summary>
    /// A minimal OIDC issuer on a fixed loopback port that can be stopped (connections refused) and started again, and
    /// whose JWKS endpoint can be made to fail.
    /// </summary>
    private sealed class RestartableIssuer : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Lock _gate = new();
        private Task _loop = Task.CompletedTask;
        private int _jwksRequests;
        private string? _jwks;
        private bool _failJwks;

        public RestartableIssuer(string jwks)
        {
            Jwks = jwks;
            BaseAddress = $"http://127.0.0.1:{DiscoveryServer.FreePort()}/";
            _listener.Prefixes.Add(BaseAddress);
            Start();
        }

        public string BaseAddress { get; }

        public string Issuer => BaseAddress.TrimEnd('/');

        public int JwksRequests => Volatile.Read(ref _jwksRequests);

        public string Jwks
        {
            get => Volatile.Read(ref _jwks!);
            set => Volatile.Write(ref _jwks, value);
        }

        public bool FailJwks
        {
            get => Volatile.Read(ref _failJwks);
            set => Volatile.Write(ref _failJwks, value);
        }

        public void Start()
        {
            lock (_gate)
            {
                _listener.Start();
                _loop = Task.Run(ServeAsync);
            }
        }

        public void Stop()
        {
            lock (_gate)
            {
                _listener.Stop();
                Assert.True(_loop.Wait(TimeSpan.FromSeconds(5)), "the issuer did not stop");
            }
        }

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                string path = context.Request.Url!.AbsolutePath;
                string? body = null;
                int status = 200;
                if (path == "/.well-known/openid-configuration")
                {
                    body = JsonSerializer.Serialize(new Dictionary<string, string> { ["issuer"] = Issuer, ["jwks_uri"] = BaseAddress + "jwks" });
                }
                else if (path == "/jwks")
                {
                    Interlocked.Increment(ref _jwksRequests);
                    (status, body) = FailJwks ? (500, "{}") : (200, Jwks);
                }
                else
                {
                    status = 404;
                }

                var response = context.Response;
                response.StatusCode = status;
                if (body is not null)
                {
                    byte[] bytes = Encoding.UTF8.GetBytes(body);
                    response.ContentType = "application/json";
                    response.ContentLength64 = bytes.Length;
                    await response.OutputStream.WriteAsync(bytes);
                }
                response.Close();
            }
        }

        public void Dispose()
        {
            if (_listener.IsListening)
            {
                _listener.Stop();
            }
            _listener.Close();
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
    }
}
