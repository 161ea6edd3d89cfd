using System.Security.Cryptography.X509Certificates;
using Wire.Http.Protocol;
using Wire.Http.Proxy;

namespace Wire.Hosting.Configuration;

internal sealed partial class GatewayConfig
{
    private static readonly Dictionary<string, HttpTargetKind> HttpKinds = new(StringComparer.Ordinal)
    {
        ["generic"] = HttpTargetKind.Generic,
        ["kubernetes"] = HttpTargetKind.Kubernetes,
    };

    /// <summary>The HTTP listener and its targets; null when the config has no <c>http</c> section.</summary>
    public HttpProxyOptions? Http { get; private set; }

    private static HttpProxyOptions ReadHttp(ConfigReader http, List<X509Certificate2> certificates)
    {
        http.EnsureOnly("listen", "proxyProtocol", "tls", "limits", "targets");
        var options = new HttpProxyOptions { ProxyProtocol = http.GetBool("proxyProtocol", false) };
        if (http.GetString("listen") is { } listen)
        {
            options.Listen = ParseListen(http, "listen", listen);
        }
        if (http.GetObject("tls") is { } tls)
        {
            tls.EnsureOnly("certificate", "key");
            options.ServerCertificate = LoadServerCertificate(tls, "certificate", "key");
            certificates.Add(options.ServerCertificate);
        }
        if (http.GetObject("limits") is { } limits)
        {
            limits.EnsureOnly("maxHeadBytes", "maxHeaderCount", "maxChunkLineBytes", "maxDrainBytes", "headTimeout", "connectTimeout",
                "responseTimeout", "bufferBytes", "maxConnections", "maxConnectionsPerIdentity", "idleTimeout");
            options.Connections = ReadConnectionLimits(limits);
            var defaults = Http1Limits.Default;
            options.Limits = new Http1Limits
            {
                MaxHeadBytes = limits.GetInt("maxHeadBytes", 1024, 1024 * 1024, defaults.MaxHeadBytes),
                MaxHeaderCount = limits.GetInt("maxHeaderCount", 1, 10_000, defaults.MaxHeaderCount),
                MaxChunkLineBytes = limits.GetInt("maxChunkLineBytes", 32, 1024 * 1024, defaults.MaxChunkLineBytes),
                MaxDrainBytes = limits.GetInt("maxDrainBytes", 0, int.MaxValue, (int)defaults.MaxDrainBytes),
            };
            options.HeadTimeout = limits.GetDuration("headTimeout", options.HeadTimeout);
            options.ConnectTimeout = limits.GetDuration("connectTimeout", options.ConnectTimeout);
            options.ResponseTimeout = limits.GetDuration("responseTimeout", options.ResponseTimeout);
            options.BufferBytes = ReadBufferBytes(limits);
        }

        var targets = http.GetObjectArray("targets");
        if (targets.Count == 0)
        {
            http.Fail("targets", "at least one target is required");
        }
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in targets)
        {
            var target = ReadHttpTarget(entry, certificates);
            if (!names.TryAdd(target.Name, options.Targets.Count))
            {
                entry.Fail("name", $"same name as {http.PathOf("targets", names[target.Name])}");
            }
            options.Targets.Add(target);
        }
        return options;
    }

    private static HttpTargetOptions ReadHttpTarget(ConfigReader target, List<X509Certificate2> certificates)
    {
        target.EnsureOnly("name", "url", "kind", "hosts", "pathPrefix", "stripPrefix", "credential", "caFile", "clientCertificate", "clientKey",
            "impersonate", "allowSpdy", "requireGrant");
        var text = target.GetRequiredString("url");
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(url.Query)
            || !string.IsNullOrEmpty(url.Fragment) || !string.IsNullOrEmpty(url.UserInfo))
        {
            target.Fail("url", "must be an http:// or https:// URL without user info, query or fragment");
        }
        var pathPrefix = target.GetString("pathPrefix");
        if (pathPrefix is not null && (!pathPrefix.StartsWith('/') || pathPrefix.Any(c => c is < '!' or > '~' or '?' or '#')))
        {
            target.Fail("pathPrefix", "must start with / and hold no spaces, query or fragment");
        }
        var hosts = target.GetStringArray("hosts");
        foreach (var host in hosts)
        {
            if (Uri.CheckHostName(host.StartsWith("*.", StringComparison.Ordinal) ? host[2..] : host) == UriHostNameType.Unknown)
            {
                target.Fail("hosts", $"\"{host}\" is not a host name (a leading *. matches subdomains)");
            }
        }

        string? credentialHeader = null;
        string? credentialValue = null;
        if (target.GetObject("credential") is { } credential)
        {
            credential.EnsureOnly("header", "value");
            credentialHeader = credential.GetString("header") ?? "Authorization";
            credentialValue = credential.GetSecret("value") ?? throw credential.Required("value");
            if (credentialHeader.Length == 0 || credentialHeader.Any(c => c is <= ' ' or > '~' or ':'))
            {
                credential.Fail("header", "must be a header name");
            }
            if (credentialValue.Any(c => c is < ' ' or > '~'))
            {
                credential.Fail("value", "must be printable ASCII (no line breaks)");
            }
        }

        X509Certificate2Collection? trusted = null;
        if (target.GetPath("caFile") is { } caFile)
        {
            if (url!.Scheme != "https")
            {
                target.Fail("caFile", "is only used with an https:// url");
            }
            trusted = [];
            LoadRootCertificates(target, "caFile", caFile, trusted);
            certificates.AddRange(trusted);
        }
        X509Certificate2? clientCertificate = null;
        if (target.Has("clientCertificate") || target.Has("clientKey"))
        {
            clientCertificate = LoadServerCertificate(target, "clientCertificate", "clientKey");
            certificates.Add(clientCertificate);
        }

        return new HttpTargetOptions
        {
            Name = target.GetRequiredString("name"),
            RequireGrant = target.GetBool("requireGrant", false),
            Url = url!,
            Kind = target.GetChoice("kind", HttpKinds, HttpTargetKind.Generic),
            Hosts = hosts,
            PathPrefix = pathPrefix,
            StripPrefix = target.GetBool("stripPrefix", true),
            CredentialHeader = credentialHeader,
            CredentialValue = credentialValue,
            TrustedCertificates = trusted,
            ClientCertificate = clientCertificate,
            Impersonate = target.GetBool("impersonate", false),
            AllowSpdy = target.GetBool("allowSpdy", false),
        };
    }
}
