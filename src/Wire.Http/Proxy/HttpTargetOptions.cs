using System.Security.Cryptography.X509Certificates;

namespace Wire.Http.Proxy;

/// <summary>One upstream HTTP service behind Wire (an entry of <c>http.targets</c>).</summary>
public sealed class HttpTargetOptions
{
    /// <summary>The target's name, for rules and recordings.</summary>
    public required string Name { get; init; }

    /// <summary>
    /// Clients need a valid just-in-time grant for this target (config <c>requireGrant</c>): without one the connection
    /// is refused (DESIGN.md §4), and when the grant ends the session is ended.
    /// </summary>
    public bool RequireGrant { get; init; }

    /// <summary>The upstream's base URL, <c>http://</c> or <c>https://</c>; a path in it is put before every forwarded path.</summary>
    public required Uri Url { get; init; }

    /// <summary>What the target is.</summary>
    public HttpTargetKind Kind { get; init; } = HttpTargetKind.Generic;

    /// <summary>Host names (without port; <c>*.example.com</c> matches any subdomain) whose requests go to this target.</summary>
    public IReadOnlyList<string> Hosts { get; init; } = [];

    /// <summary>A path prefix (<c>/grafana</c>) whose requests go to this target when no host matched.</summary>
    public string? PathPrefix { get; init; }

    /// <summary>Whether <see cref="PathPrefix"/> is removed from the path before forwarding. Default true.</summary>
    public bool StripPrefix { get; init; } = true;

    /// <summary>The header that carries Wire's credential for the target (for example <c>Authorization</c>); null for none.</summary>
    public string? CredentialHeader { get; init; }

    /// <summary>The credential header's value (for example <c>Bearer ...</c>); the client never sees it.</summary>
    public string? CredentialValue { get; init; }

    /// <summary>Certificates that are trusted for the upstream's TLS instead of the system's roots; null for the system's.</summary>
    public X509Certificate2Collection? TrustedCertificates { get; init; }

    /// <summary>A client certificate (with its key) Wire presents to the upstream; null for none.</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>Whether Wire sets <c>Impersonate-User</c>/<c>Impersonate-Group</c> from the identity (Kubernetes).</summary>
    public bool Impersonate { get; init; }

    /// <summary>Whether SPDY upgrades (old kubectl exec) are let through. Default false.</summary>
    public bool AllowSpdy { get; init; }
}
