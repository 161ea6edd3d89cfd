namespace Wire.Enforcement.Identity;

/// <summary>
/// The gateway's validator: a configured static token wins; otherwise a token shaped like a compact JWS is
/// validated as an OIDC token; anything else is unknown.
/// </summary>
public sealed class CompositeIdentityValidator : IIdentityValidator
{
    private readonly StaticTokenValidator? _staticTokens;
    private readonly OidcTokenValidator? _oidc;

    /// <summary>Creates a validator from the configured sources; either may be null.</summary>
    /// <param name="staticTokens">The static tokens, or null when none are configured.</param>
    /// <param name="oidc">The OIDC validator, or null when OIDC is not configured.</param>
    public CompositeIdentityValidator(StaticTokenValidator? staticTokens, OidcTokenValidator? oidc)
    {
        _staticTokens = staticTokens;
        _oidc = oidc;
    }

    /// <inheritdoc />
    public ValueTask<IdentityValidationResult> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (string.IsNullOrWhiteSpace(token))
        {
            return new ValueTask<IdentityValidationResult>(IdentityValidationResult.Failure("empty token"));
        }

        if (_staticTokens is not null)
        {
            var result = _staticTokens.Validate(token);
            if (result.Succeeded)
            {
                return new ValueTask<IdentityValidationResult>(result);
            }
        }

        // Only JWT-shaped tokens go to OIDC, so a mistyped static token is never parsed as a JWT.
        if (_oidc is not null && IsCompactJws(token))
        {
            return _oidc.ValidateAsync(token, cancellationToken);
        }

        return new ValueTask<IdentityValidationResult>(IdentityValidationResult.Failure("unknown token"));
    }

    /// <summary>
    /// Whether <paramref name="token"/> has the compact JWS shape (RFC 7515 §7.1): header, payload and
    /// signature in base64url, separated by two dots. The header and payload must be non-empty; the
    /// signature may be empty (an unsecured JWS, which OIDC validation then refuses with a clear reason).
    /// </summary>
    internal static bool IsCompactJws(ReadOnlySpan<char> token)
    {
        var dots = 0;
        var segmentLength = 0;
        foreach (var c in token)
        {
            if (c == '.')
            {
                if (segmentLength == 0 || ++dots > 2)
                {
                    return false;
                }
                segmentLength = 0;
            }
            else if (IsBase64UrlChar(c))
            {
                segmentLength++;
            }
            else
            {
                return false;
            }
        }
        return dots == 2;
    }

    private static bool IsBase64UrlChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_';
}
