using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Wire.Enforcement.Tests.Identity;

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}

/// <summary>Collects formatted log messages so tests can check what was (and was not) logged.</summary>
internal sealed class CapturingLogger : ILogger
{
    public ConcurrentQueue<(EventId Id, string Message, Exception? Exception)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        => Entries.Enqueue((eventId, formatter(state, exception), exception));

    public string AllText() => string.Join("\n", Entries.Select(e => e.Message + " " + e.Exception));
}

/// <summary>Signing keys and token factory for OIDC tests.</summary>
internal sealed class TestSigner : IDisposable
{
    public const string Issuer = "https://idp.example.test/";
    public const string Audience = "wire";

    // A fixed instant, far from the real clock, so only the injected TimeProvider can make tokens valid.
    public static readonly DateTimeOffset Now = new(2031, 5, 6, 7, 8, 9, TimeSpan.Zero);

    private readonly AsymmetricAlgorithm _algorithm;

    private TestSigner(AsymmetricAlgorithm algorithm, SecurityKey privateKey, JsonWebKey publicJwk)
    {
        _algorithm = algorithm;
        PrivateKey = privateKey;
        PublicJwk = publicJwk;
    }

    public SecurityKey PrivateKey { get; }

    public JsonWebKey PublicJwk { get; }

    public static TestSigner Rsa(string kid)
    {
        var rsa = RSA.Create(2048);
        var publicJwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(rsa.ExportParameters(false)) { KeyId = kid });
        return new TestSigner(rsa, new RsaSecurityKey(rsa) { KeyId = kid }, publicJwk);
    }

    public static TestSigner EcP256(string kid)
    {
        var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var publicOnly = ECDsa.Create(ecdsa.ExportParameters(false));
        var publicJwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(publicOnly) { KeyId = kid });
        return new TestSigner(ecdsa, new ECDsaSecurityKey(ecdsa) { KeyId = kid }, publicJwk);
    }

    public string CreateToken(
        string algorithm = SecurityAlgorithms.RsaSha256,
        string issuer = Issuer,
        string audience = Audience,
        DateTimeOffset? expires = null,
        DateTimeOffset? notBefore = null,
        bool withExpiry = true,
        IDictionary<string, object>? claims = null)
        => CreateToken(new SigningCredentials(PrivateKey, algorithm), issuer, audience, expires, notBefore, withExpiry, claims);

    public static string CreateToken(
        SigningCredentials credentials,
        string issuer = Issuer,
        string audience = Audience,
        DateTimeOffset? expires = null,
        DateTimeOffset? notBefore = null,
        bool withExpiry = true,
        IDictionary<string, object>? claims = null)
    {
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = Now.UtcDateTime,
            NotBefore = (notBefore ?? Now.AddMinutes(-1)).UtcDateTime,
            Expires = withExpiry ? (expires ?? Now.AddMinutes(10)).UtcDateTime : null,
            Claims = claims ?? new Dictionary<string, object> { ["sub"] = "alice", ["groups"] = new[] { "dba", "ops" } },
            SigningCredentials = credentials,
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    /// <summary>An unsecured JWS (<c>alg: none</c>) with a valid-looking payload.</summary>
    public static string CreateUnsignedToken()
    {
        var header = Base64UrlEncoder.Encode("""{"alg":"none","typ":"JWT"}""");
        var payload = Base64UrlEncoder.Encode(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["iss"] = Issuer,
            ["aud"] = Audience,
            ["sub"] = "mallory",
            ["nbf"] = Now.AddMinutes(-1).ToUnixTimeSeconds(),
            ["exp"] = Now.AddMinutes(10).ToUnixTimeSeconds(),
        }));
        return header + "." + payload + ".";
    }

    public static string JwksJson(params TestSigner[] signers)
    {
        var keys = new List<Dictionary<string, string>>();
        foreach (var signer in signers)
        {
            var jwk = signer.PublicJwk;
            var entry = new Dictionary<string, string> { ["kty"] = jwk.Kty, ["kid"] = jwk.Kid, ["use"] = "sig" };
            if (jwk.Kty == JsonWebAlgorithmsKeyTypes.RSA)
            {
                entry["n"] = jwk.N;
                entry["e"] = jwk.E;
            }
            else
            {
                entry["crv"] = jwk.Crv;
                entry["x"] = jwk.X;
                entry["y"] = jwk.Y;
            }
            keys.Add(entry);
        }
        return JsonSerializer.Serialize(new { keys });
    }

    public void Dispose() => _algorithm.Dispose();
}

/// <summary>A temporary directory deleted with the test.</summary>
internal sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("wire-identity-").FullName;

    public string Write(string name, string content)
    {
        var file = System.IO.Path.Combine(Path, name);
        File.WriteAllText(file, content, Encoding.UTF8);
        return file;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

/// <summary>
/// A minimal OIDC issuer on loopback: serves the discovery document and a JWKS the test can swap.
/// </summary>
internal sealed class DiscoveryServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;
    private volatile string _jwks;
    private int _discoveryRequests;
    private int _jwksRequests;

    public DiscoveryServer(string jwks)
    {
        _jwks = jwks;
        var port = FreePort();
        BaseAddress = $"http://127.0.0.1:{port}/";
        _listener.Prefixes.Add(BaseAddress);
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public string BaseAddress { get; }

    /// <summary>The issuer named by the discovery document (and expected in tokens).</summary>
    public string Issuer => BaseAddress.TrimEnd('/');

    public int DiscoveryRequests => Volatile.Read(ref _discoveryRequests);

    public int JwksRequests => Volatile.Read(ref _jwksRequests);

    public string Jwks
    {
        get => _jwks;
        set => _jwks = value;
    }

    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
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

            var path = context.Request.Url!.AbsolutePath;
            string? body = null;
            if (path == "/.well-known/openid-configuration")
            {
                Interlocked.Increment(ref _discoveryRequests);
                body = JsonSerializer.Serialize(new Dictionary<string, string>
                {
                    ["issuer"] = Issuer,
                    ["jwks_uri"] = BaseAddress + "jwks",
                });
            }
            else if (path == "/jwks")
            {
                Interlocked.Increment(ref _jwksRequests);
                body = _jwks;
            }

            var response = context.Response;
            if (body is null)
            {
                response.StatusCode = 404;
            }
            else
            {
                var bytes = Encoding.UTF8.GetBytes(body);
                response.ContentType = "application/json";
                response.ContentLength64 = bytes.Length;
                await response.OutputStream.WriteAsync(bytes);
            }
            response.Close();
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}
