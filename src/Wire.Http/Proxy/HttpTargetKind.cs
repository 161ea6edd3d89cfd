namespace Wire.Http.Proxy;

/// <summary>What an HTTP target is, which decides how its requests are understood.</summary>
public enum HttpTargetKind
{
    /// <summary>Any HTTP service: requests are judged by method, host and path.</summary>
    Generic,

    /// <summary>A Kubernetes API server: requests are also judged by verb, resource, namespace and name.</summary>
    Kubernetes,
}
