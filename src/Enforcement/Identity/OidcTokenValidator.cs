using System.Collections;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Wire.Enforcement.Identity;

/// <summary>
/// Validates OIDC JSON Web Tokens (compact JWS) against one issuer and audience. Only RS256, ES256 and PS256
/// signatures are accepted, with 60 seconds of clock skew. Signing keys come from a JWKS file loaded once, or
/// from the issuer's discovery document: fetched on first use, refreshed every <see cref="KeyRefreshInterval"/> and
/// when a token names an unknown key (at most every 5 minutes).
/// </summary>
/// <remarks>
/// Failures are values: a bad token, or a key source that cannot be reached, yields a failed
/// <see cref="IdentityValidationResult"/>. The token text never appears in a failure reason or a log. While the key
/// source cannot be reached, the keys fetched last go on being used until <see cref="KeyLifetime"/> after that fetch;
/// then every token is refused (fail closed) until the source answers again. All of it runs on the injected clock.
/// </remarks>
public sealed partial class OidcTokenValidator : IIdentityValidator, IDisposable
{
    /// <summary>The <see cref="WireIdentity.Method"/> of identities proven by an OIDC token.</summary>
    public const string MethodName = "oidc";

    /// <summary>The clock skew allowed when checking <c>nbf</c> and <c>exp</c>.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(60);

    /// <summary>The JWS algorithms accepted; everything else (HS*, none, RS384...) is refused.</summary>
    public static readonly IReadOnlyList<string> AllowedAlgorithms = Array.AsReadOnly(
        [SecurityAlgorithms.RsaSha256, SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.RsaSsaPssSha256]);

    /// <summary>How long keys from discovery are used before they are fetched again.</summary>
    public static readonly TimeSpan KeyRefreshInterval = TimeSpan.FromHours(1);

    /// <summary>How long after their last successful fetch keys from discovery may still be used while the source cannot be reached.</summary>
    public static readonly TimeSpan KeyLifetime = TimeSpan.FromHours(24);

    // Larger than any sane ID or access token; bounds the work an unauthenticated client can cause.
    private const int MaxTokenLength = 64 * 1024;
    private const int MaxMetadataBytes = 1024 * 1024;

    // Made-up key ids must not make Wire hammer the issuer: an unknown kid refreshes the keys at most this often.
    private static readonly TimeSpan UnknownKeyRefreshInterval = TimeSpan.FromMinutes(5);

    // After a failed fetch, logins do not each wait for the source again: the next attempt comes after this pause.
    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan DefaultMetadataTimeout = TimeSpan.FromSeconds(10);

    // Copied from the options at construction: OidcOptions is mutable and a reload builds a new validator.
    private readonly string _issuer;
    private readonly string _audience;
    private readonly string _subjectClaim;
    private readonly string _groupsClaim;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly JsonWebTokenHandler _handler = new();
    private readonly string? _metadataAddress;
    private readonly HttpClient? _httpClient;
    private readonly HttpDocumentRetriever? _retriever;

    // One fetch at a time; the fields below it are read and written under it (_keys is also read without it).
    private readonly SemaphoreSlim _fetchGate = new(1, 1);
    private DateTimeOffset _nextAttempt = DateTimeOffset.MinValue;
    private DateTimeOffset _lastUnknownKeyRefresh = DateTimeOffset.MinValue;
    private bool _expiryLogged;

    // The keys in use with their validation parameters, rebuilt only by a fetch.
    private volatile KeySet? _keys;
    private bool _disposed;

    /// <summary>Creates a validator for <paramref name="options"/>.</summary>
    /// <param name="options">The issuer, audience, key source and claim names.</param>
    /// <param name="timeProvider">The clock for <c>nbf</c>/<c>exp</c>; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="logger">Where to log key loading and rejections; nothing is logged when null.</param>
    /// <exception cref="ArgumentException">The options are incomplete or name an invalid discovery address.</exception>
    /// <exception cref="InvalidOperationException">The JWKS file is missing, unreadable, invalid or holds no usable key.</exception>
    public OidcTokenValidator(OidcOptions options, TimeProvider? timeProvider = null, ILogger? logger = null)
        : this(options, timeProvider, logger, DefaultMetadataTimeout)
    {
    }

    /// <summary>As the public constructor, with the timeout for each discovery or JWKS request.</summary>
    internal OidcTokenValidator(OidcOptions options, TimeProvider? timeProvider, ILogger? logger, TimeSpan metadataTimeout)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Issuer))
        {
            throw new ArgumentException("The OIDC issuer is required.", nameof(options));
        }
        if (string.IsNullOrWhiteSpace(options.Audience))
        {
            throw new ArgumentException("The OIDC audience is required.", nameof(options));
        }
        if (string.IsNullOrWhiteSpace(options.SubjectClaim))
        {
            throw new ArgumentException("The OIDC subject claim name is required.", nameof(options));
        }
        if (string.IsNullOrWhiteSpace(options.GroupsClaim))
        {
            throw new ArgumentException("The OIDC groups claim name is required.", nameof(options));
        }

        _issuer = options.Issuer;
        _audience = options.Audience;
        _subjectClaim = options.SubjectClaim;
        _groupsClaim = options.GroupsClaim;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;

        if (options.JwksFile is not null)
        {
            var keys = LoadJwksFile(options.JwksFile);
            _keys = new KeySet(keys, CreateParameters(keys), DateTimeOffset.MaxValue);
            Log.JwksFileLoaded(_logger, keys.Length, options.JwksFile);
            return;
        }

        _metadataAddress = options.MetadataAddress ?? options.Issuer.TrimEnd('/') + "/.well-known/openid-configuration";
        if (!Uri.TryCreate(_metadataAddress, UriKind.Absolute, out var metadataUri)
            || (metadataUri.Scheme != Uri.UriSchemeHttps && metadataUri.Scheme != Uri.UriSchemeHttp))
        {
            throw new ArgumentException($"The OIDC discovery address '{_metadataAddress}' is not an absolute http(s) URI.", nameof(options));
        }
        if (options.RequireHttpsMetadata && metadataUri.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException(
                $"The OIDC discovery address '{_metadataAddress}' is not HTTPS and HTTPS metadata is required.", nameof(options));
        }

        // Discovery and key fetches speak TLS 1.2 or 1.3 only, whatever the system's OpenSSL policy allows.
        var handler = new SocketsHttpHandler
        {
            SslOptions = new System.Net.Security.SslClientAuthenticationOptions
            {
                EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
            },
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        _httpClient = new HttpClient(handler)
        {
            Timeout = metadataTimeout,
            MaxResponseContentBufferSize = MaxMetadataBytes,
        };
        _retriever = new HttpDocumentRetriever(_httpClient) { RequireHttps = options.RequireHttpsMetadata };
    }

    /// <inheritdoc />
    public async ValueTask<IdentityValidationResult> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();

        if (string.IsNullOrWhiteSpace(token))
        {
            return Reject("empty token");
        }
        if (token.Length > MaxTokenLength)
        {
            return Reject("token too large");
        }

        JsonWebToken jwt;
        try
        {
            jwt = new JsonWebToken(token);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Untrusted input: whatever the parser throws (bad base64, bad JSON, bad header) means malformed.
            return Reject("malformed token");
        }

        // ValidAlgorithms enforces this too, but reports it as a bad signature; checking first gives a clear
        // reason and never lets an unsupported algorithm (none, HS*) reach key selection or a refresh.
        if (!IsAllowedAlgorithm(jwt.Alg))
        {
            return Reject("signing algorithm not allowed");
        }

        var parameters = await GetParametersAsync(jwt, cancellationToken).ConfigureAwait(false);
        if (parameters is null)
        {
            return Reject("OIDC signing keys unavailable");
        }

        TokenValidationResult result;
        try
        {
            result = await _handler.ValidateTokenAsync(jwt, parameters).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // ValidateTokenAsync reports failures in its result; anything thrown is still a refusal.
            return Reject(DescribeFailure(ex));
        }

        if (!result.IsValid)
        {
            return Reject(DescribeFailure(result.Exception));
        }

        if (ValidateLifetimeAt(jwt, _timeProvider.GetUtcNow()) is { } lifetimeFailure)
        {
            return Reject(lifetimeFailure);
        }

        return MapIdentity(jwt);
    }

    /// <summary>Releases the HTTP client used for discovery.</summary>
    public void Dispose()
    {
        _disposed = true;
        _httpClient?.Dispose();
    }

    private async ValueTask<TokenValidationParameters?> GetParametersAsync(JsonWebToken jwt, CancellationToken cancellationToken)
    {
        var current = _keys;
        if (_retriever is null)
        {
            return current!.Parameters;
        }

        var now = _timeProvider.GetUtcNow();
        string? kid = string.IsNullOrEmpty(jwt.Kid) ? null : jwt.Kid;
        if (current is not null && now < current.FetchedAt + KeyRefreshInterval && (kid is null || ContainsKey(current.Keys, kid)))
        {
            return current.Parameters;
        }

        if (current is not null && now < current.FetchedAt + KeyLifetime && (kid is null || ContainsKey(current.Keys, kid)))
        {
            // A refresh is due: one login fetches, the others go on with the keys they have rather than wait for a slow source.
            if (!_fetchGate.Wait(0))
            {
                return current.Parameters;
            }
        }
        else
        {
            await _fetchGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        try
        {
            // Another login may have fetched while this one waited.
            current = _keys;
            now = _timeProvider.GetUtcNow();
            bool due = current is null || now >= current.FetchedAt + KeyRefreshInterval;
            bool unknownKey = !due && kid is not null && !ContainsKey(current!.Keys, kid);
            if (unknownKey && now >= _lastUnknownKeyRefresh + UnknownKeyRefreshInterval)
            {
                // The issuer may have rotated its keys: fetch them now so that this very token validates.
                _lastUnknownKeyRefresh = now;
                Log.RefreshingSigningKeys(_logger, _metadataAddress!);
                due = true;
            }
            if (due && now >= _nextAttempt)
            {
                current = await FetchAsync(current, now, cancellationToken).ConfigureAwait(false);
            }
            return UsableParameters(current, _timeProvider.GetUtcNow());
        }
        finally
        {
            _fetchGate.Release();
        }
    }

    /// <summary>Fetches the discovery document and its keys; on failure keeps <paramref name="current"/> and pauses further attempts.</summary>
    private async ValueTask<KeySet?> FetchAsync(KeySet? current, DateTimeOffset now, CancellationToken cancellationToken)
    {
        try
        {
            var configuration = await OpenIdConnectConfigurationRetriever.GetAsync(_metadataAddress!, _retriever!, cancellationToken)
                .ConfigureAwait(false);
            var keys = configuration.SigningKeys.ToArray();
            if (keys.Length == 0)
            {
                throw new InvalidOperationException("the key set holds no usable signing key");
            }
            var fetched = new KeySet(keys, CreateParameters(keys), _timeProvider.GetUtcNow());
            _keys = fetched;
            _nextAttempt = DateTimeOffset.MinValue;
            _expiryLogged = false;
            return fetched;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // Unreachable, slow (the HttpClient timeout), an error status, or a document that is not OIDC metadata.
            _nextAttempt = now + RetryInterval;
            Log.KeySourceUnavailable(_logger, _metadataAddress!, ex);
            return current;
        }
    }

    /// <summary>The parameters of <paramref name="keys"/> while they have not outlived <see cref="KeyLifetime"/>; null (fail closed) after.</summary>
    private TokenValidationParameters? UsableParameters(KeySet? keys, DateTimeOffset now)
    {
        if (keys is null)
        {
            return null;
        }
        if (now < keys.FetchedAt + KeyLifetime)
        {
            return keys.Parameters;
        }
        if (!_expiryLogged)
        {
            _expiryLogged = true;
            Log.SigningKeysExpired(_logger, _metadataAddress!, keys.FetchedAt);
        }
        return null;
    }

    private static bool IsAllowedAlgorithm(string? algorithm)
    {
        foreach (var allowed in AllowedAlgorithms)
        {
            if (string.Equals(algorithm, allowed, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    private static bool ContainsKey(ICollection<SecurityKey> keys, string kid)
    {
        foreach (var key in keys)
        {
            if (string.Equals(key.KeyId, kid, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    private TokenValidationParameters CreateParameters(ICollection<SecurityKey> keys) => new()
    {
        ValidIssuer = _issuer,
        ValidateIssuer = true,
        ValidAudience = _audience,
        ValidateAudience = true,
        // IdentityModel 8 reads the system clock for lifetimes; ValidateLifetimeAt checks nbf/exp against the
        // injected TimeProvider instead, after the signature is proven.
        ValidateLifetime = false,
        RequireExpirationTime = true,
        RequireSignedTokens = true,
        ValidAlgorithms = AllowedAlgorithms,
        ClockSkew = ClockSkew,
        IssuerSigningKeys = keys,
        ValidateIssuerSigningKey = false,
        SaveSigninToken = false,
    };

    private static string? ValidateLifetimeAt(JsonWebToken jwt, DateTimeOffset now)
    {
        DateTime expires;
        DateTime notBefore;
        try
        {
            if (!jwt.TryGetPayloadValue<object>(JwtRegisteredClaimNames.Exp, out var exp) || exp is null)
            {
                return "token has no expiration";
            }
            expires = jwt.ValidTo;
            notBefore = jwt.ValidFrom;
        }
        catch (Exception ex) when (ex is ArgumentException or SecurityTokenException or FormatException or OverflowException)
        {
            return "token lifetime invalid";
        }

        var utcNow = now.UtcDateTime;
        var hasNotBefore = notBefore != DateTime.MinValue;
        if (hasNotBefore && notBefore > expires)
        {
            return "token lifetime invalid";
        }
        if (hasNotBefore && notBefore > utcNow + ClockSkew)
        {
            return "token not yet valid";
        }
        if (expires < utcNow - ClockSkew)
        {
            return "token expired";
        }
        return null;
    }

    private IdentityValidationResult MapIdentity(JsonWebToken jwt)
    {
        if (!jwt.TryGetPayloadValue<object>(_subjectClaim, out var subjectValue)
            || subjectValue is not string subject
            || string.IsNullOrWhiteSpace(subject))
        {
            return Reject("missing or empty subject claim");
        }

        if (!TryReadGroups(jwt, _groupsClaim, out var groups))
        {
            // A group that cannot be read could be the one a deny rule names: refuse rather than drop it.
            return Reject("groups claim is not a string or an array of strings");
        }

        return IdentityValidationResult.Success(new WireIdentity(subject, groups, MethodName));
    }

    private static bool TryReadGroups(JsonWebToken jwt, string claim, out IReadOnlyList<string> groups)
    {
        groups = [];
        if (!jwt.TryGetPayloadValue<object>(claim, out var value) || value is null)
        {
            return true;
        }

        switch (value)
        {
            case string single:
                groups = [single];
                return true;
            case JsonElement element:
                return TryReadGroups(element, out groups);
            case IEnumerable items:
                var list = new List<string>();
                foreach (var item in items)
                {
                    switch (item)
                    {
                        case string s:
                            list.Add(s);
                            break;
                        case JsonElement { ValueKind: JsonValueKind.String } e:
                            list.Add(e.GetString()!);
                            break;
                        default:
                            return false;
                    }
                }
                groups = list;
                return true;
            default:
                return false;
        }
    }

    private static bool TryReadGroups(JsonElement element, out IReadOnlyList<string> groups)
    {
        groups = [];
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                groups = [element.GetString()!];
                return true;
            case JsonValueKind.Null:
                return true;
            case JsonValueKind.Array:
                var list = new List<string>(element.GetArrayLength());
                foreach (var item in element.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String)
                    {
                        return false;
                    }
                    list.Add(item.GetString()!);
                }
                groups = list;
                return true;
            default:
                return false;
        }
    }

    // Reasons come from the exception type only: IdentityModel messages can quote the token when PII logging is on.
    private static string DescribeFailure(Exception? exception) => exception switch
    {
        SecurityTokenExpiredException => "token expired",
        SecurityTokenNotYetValidException => "token not yet valid",
        SecurityTokenNoExpirationException => "token has no expiration",
        SecurityTokenInvalidLifetimeException => "token lifetime invalid",
        SecurityTokenInvalidIssuerException => "issuer not accepted",
        SecurityTokenInvalidAudienceException => "audience not accepted",
        SecurityTokenInvalidAlgorithmException => "signing algorithm not allowed",
        SecurityTokenSignatureKeyNotFoundException => "signing key not found",
        SecurityTokenInvalidSignatureException => "invalid signature",
        SecurityTokenMalformedException => "malformed token",
        SecurityTokenDecryptionFailedException => "encrypted tokens are not accepted",
        null => "token rejected",
        _ => "token rejected (" + exception.GetType().Name + ")",
    };

    private IdentityValidationResult Reject(string reason)
    {
        Log.TokenRejected(_logger, reason);
        return IdentityValidationResult.Failure(reason);
    }

    private static SecurityKey[] LoadJwksFile(string path)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new InvalidOperationException($"Cannot read the OIDC JWKS file '{path}': {ex.Message}", ex);
        }

        JsonWebKeySet set;
        try
        {
            set = new JsonWebKeySet(json);
        }
        catch (Exception ex) when (ex is ArgumentException or JsonException or FormatException)
        {
            throw new InvalidOperationException($"The OIDC JWKS file '{path}' is not a valid JSON Web Key Set.", ex);
        }

        var keys = set.GetSigningKeys();
        if (keys.Count == 0)
        {
            throw new InvalidOperationException($"The OIDC JWKS file '{path}' holds no usable signing key.");
        }
        return keys.ToArray();
    }

    /// <summary>Signing keys, their validation parameters, and when they were fetched (MaxValue: from a file, never stale).</summary>
    private sealed record KeySet(ICollection<SecurityKey> Keys, TokenValidationParameters Parameters, DateTimeOffset FetchedAt);

    private static partial class Log
    {
        [LoggerMessage(EventId = 2101, EventName = "OidcJwksFileLoaded", Level = LogLevel.Information,
            Message = "Loaded {KeyCount} OIDC signing keys from {JwksFile}")]
        public static partial void JwksFileLoaded(ILogger logger, int keyCount, string jwksFile);

        [LoggerMessage(EventId = 2102, EventName = "OidcKeySourceUnavailable", Level = LogLevel.Warning,
            Message = "Cannot obtain OIDC signing keys from {MetadataAddress}; the keys fetched last (if any) are used until they expire")]
        public static partial void KeySourceUnavailable(ILogger logger, string metadataAddress, Exception exception);

        [LoggerMessage(EventId = 2103, EventName = "OidcSigningKeysRefresh", Level = LogLevel.Information,
            Message = "A token names an unknown signing key; refreshing keys from {MetadataAddress}")]
        public static partial void RefreshingSigningKeys(ILogger logger, string metadataAddress);

        [LoggerMessage(EventId = 2104, EventName = "OidcTokenRejected", Level = LogLevel.Debug,
            Message = "OIDC token rejected: {Reason}")]
        public static partial void TokenRejected(ILogger logger, string reason);

        [LoggerMessage(EventId = 2105, EventName = "OidcSigningKeysExpired", Level = LogLevel.Error,
            Message = "The OIDC signing keys fetched from {MetadataAddress} at {FetchedAt:o} have expired and cannot be refreshed; tokens are refused until it answers")]
        public static partial void SigningKeysExpired(ILogger logger, string metadataAddress, DateTimeOffset fetchedAt);
    }
}
