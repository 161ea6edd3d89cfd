namespace Wire.Enforcement.Identity;

/// <summary>How Wire validates OIDC JSON Web Tokens.</summary>
public sealed class OidcOptions
{
    /// <summary>The expected <c>iss</c> claim, and the base of the discovery document when no JWKS file is given.</summary>
    public required string Issuer { get; set; }

    /// <summary>The expected <c>aud</c> claim.</summary>
    public required string Audience { get; set; }

    /// <summary>An absolute path to a JWKS file holding the signing keys; null to use the issuer's discovery document.</summary>
    public string? JwksFile { get; set; }

    /// <summary>The discovery document address; defaults to <c>{Issuer}/.well-known/openid-configuration</c>.</summary>
    public string? MetadataAddress { get; set; }

    /// <summary>Whether the discovery document and keys must be fetched over HTTPS. Default true.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>The claim that holds the subject. Default <c>sub</c>.</summary>
    public string SubjectClaim { get; set; } = "sub";

    /// <summary>The claim that holds the groups (a string or an array of strings). Default <c>groups</c>.</summary>
    public string GroupsClaim { get; set; } = "groups";
}
