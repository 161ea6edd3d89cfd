namespace Wire.Enforcement.Policy;

/// <summary>
/// The facts about one HTTP request that the HTTP rule keys match on (<c>methods</c>, <c>hosts</c>, <c>paths</c>, and
/// for Kubernetes targets <c>verbs</c>, <c>apiGroups</c>, <c>resources</c>, <c>subresources</c>, <c>namespaces</c>,
/// <c>names</c>). Kubernetes facts are null for other targets and for non-resource URLs (<c>/healthz</c>,
/// <c>/version</c>); a rule with a Kubernetes key never matches those.
/// </summary>
/// <param name="Method">The request method, as sent (upper case by convention).</param>
/// <param name="Host">The Host field without its port, lower case.</param>
/// <param name="Path">The path without its query, as sent (percent-encoding kept).</param>
public sealed record HttpAccess(string Method, string Host, string Path)
{
    /// <summary>The Kubernetes verb (get, list, watch, create, update, patch, delete, deletecollection) or, for a
    /// non-resource URL, the lower-case method; null for targets that are not Kubernetes.</summary>
    public string? Verb { get; init; }

    /// <summary>The API group (<c>""</c> for the core group, <c>apps</c>, ...); null when not a resource request.</summary>
    public string? ApiGroup { get; init; }

    /// <summary>The resource (<c>pods</c>, <c>secrets</c>, ...); null when not a resource request.</summary>
    public string? Resource { get; init; }

    /// <summary>The subresource (<c>exec</c>, <c>log</c>, <c>status</c>, ...); null when there is none.</summary>
    public string? Subresource { get; init; }

    /// <summary>The namespace; null for cluster-scoped requests.</summary>
    public string? Namespace { get; init; }

    /// <summary>The object's name; null for collections.</summary>
    public string? Name { get; init; }

    /// <summary>Whether the target is Kubernetes and the URL is not a resource URL (<c>/healthz</c>, <c>/version</c>, ...).</summary>
    public bool NonResourceUrl { get; init; }
}
