using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Wire.Postgres.Proxy;

namespace Wire.Hosting.Configuration;

internal sealed partial class GatewayConfig
{
    // PostgreSQL's length prefix is an int32 that counts itself.
    private const int MaxPgFrameBytes = int.MaxValue - 4;
    private const int MinPgFrameBytes = 1024;

    private static readonly Dictionary<string, PgSslMode> SslModes = new(StringComparer.Ordinal)
    {
        ["disable"] = PgSslMode.Disable,
        ["prefer"] = PgSslMode.Prefer,
        ["require"] = PgSslMode.Require,
        ["verify-full"] = PgSslMode.VerifyFull,
    };

    private static PgProxyOptions ReadPostgres(ConfigReader postgres, List<X509Certificate2> certificates)
    {
        postgres.EnsureOnly("listen", "proxyProtocol", "tls", "allowCleartextWithoutTls", "limits", "targets");
        var options = new PgProxyOptions
        {
            AllowCleartextWithoutTls = postgres.GetBool("allowCleartextWithoutTls", false),
            ProxyProtocol = postgres.GetBool("proxyProtocol", false),
        };
        if (postgres.GetString("listen") is { } listen)
        {
            options.Listen = ParseListen(postgres, "listen", listen);
        }
        if (postgres.GetObject("tls") is { } tls)
        {
            tls.EnsureOnly("certificate", "key", "required");
            options.TlsRequired = tls.GetBool("required", false);
            options.ServerCertificate = LoadServerCertificate(tls, "certificate", "key");
            certificates.Add(options.ServerCertificate);
        }
        if (postgres.GetObject("limits") is { } limits)
        {
            options.Limits = ReadLimits(limits);
            options.Connections = ReadConnectionLimits(limits);
        }

        var targets = postgres.GetObjectArray("targets");
        if (targets.Count == 0)
        {
            postgres.Fail("targets", "at least one target is required");
        }
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in targets)
        {
            var target = ReadTarget(entry, certificates);
            if (!names.TryAdd(target.Name, options.Targets.Count))
            {
                entry.Fail("name", $"same name as {postgres.PathOf("targets", names[target.Name])}");
            }
            options.Targets.Add(target);
        }
        return options;
    }

    private static PgLimits ReadLimits(ConfigReader limits)
    {
        limits.EnsureOnly("maxFrameBytes", "maxInspectedFrameBytes", "maxJudgedMessageBytes", "handshakeTimeout", "connectTimeout",
            "bufferBytes", "maxConnections", "maxConnectionsPerIdentity", "idleTimeout");
        var defaults = new PgLimits();
        var maxFrame = limits.GetInt("maxFrameBytes", MinPgFrameBytes, MaxPgFrameBytes, defaults.MaxFrameBytes);
        var maxInspected = limits.GetInt("maxInspectedFrameBytes", MinPgFrameBytes, MaxPgFrameBytes, Math.Min(defaults.MaxInspectedFrameBytes, maxFrame));
        if (maxInspected > maxFrame)
        {
            limits.Fail("maxInspectedFrameBytes", $"must not exceed {limits.PathOf("maxFrameBytes")}");
        }
        var maxJudged = limits.GetInt("maxJudgedMessageBytes", MinPgFrameBytes, MaxPgFrameBytes, Math.Min(defaults.MaxJudgedMessageBytes, maxFrame));
        if (maxJudged > maxFrame)
        {
            limits.Fail("maxJudgedMessageBytes", $"must not exceed {limits.PathOf("maxFrameBytes")}");
        }
        return new PgLimits
        {
            MaxFrameBytes = maxFrame,
            MaxInspectedFrameBytes = maxInspected,
            MaxJudgedMessageBytes = maxJudged,
            HandshakeTimeout = limits.GetDuration("handshakeTimeout", defaults.HandshakeTimeout),
            ConnectTimeout = limits.GetDuration("connectTimeout", defaults.ConnectTimeout),
            BufferBytes = ReadBufferBytes(limits),
        };
    }

    private static PgTargetOptions ReadTarget(ConfigReader target, List<X509Certificate2> certificates)
    {
        target.EnsureOnly("name", "host", "port", "database", "username", "password", "sslMode", "sslRootCert", "requireGrant");
        var options = new PgTargetOptions
        {
            Name = target.GetRequiredString("name"),
            Host = target.GetRequiredString("host"),
            Port = target.GetInt("port", 1, 65535, 5432),
            Database = target.GetString("database"),
            Username = target.GetRequiredString("username"),
            Password = target.GetSecret("password"),
            SslMode = target.GetChoice("sslMode", SslModes, PgSslMode.Prefer),
            RequireGrant = target.GetBool("requireGrant", false),
        };
        if (Uri.CheckHostName(options.Host) == UriHostNameType.Unknown)
        {
            target.Fail("host", "must be a host name or an IP address");
        }
        if (target.GetPath("sslRootCert") is { } rootCertPath)
        {
            // Only verify-full checks the chain; accepting a CA file elsewhere would suggest a verification that never happens.
            if (options.SslMode != PgSslMode.VerifyFull)
            {
                target.Fail("sslRootCert", "is only used with sslMode verify-full");
            }
            LoadRootCertificates(target, "sslRootCert", rootCertPath, options.SslRootCertificates);
            certificates.AddRange(options.SslRootCertificates);
        }
        return options;
    }

    /// <summary>Parses <c>host:port</c> or <c>[v6]:port</c>, where host is an IP literal or <c>localhost</c>.</summary>
    private static IPEndPoint ParseListen(ConfigReader section, string key, string text)
    {
        const string Shape = "must be host:port or [ipv6]:port with an IP address or localhost and a port from 0 to 65535";
        string host;
        string port;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf("]:", StringComparison.Ordinal);
            if (close < 0)
            {
                section.Fail(key, Shape);
            }
            host = text[1..close];
            port = text[(close + 2)..];
            if (!host.Contains(':'))
            {
                section.Fail(key, Shape); // brackets are for IPv6 only
            }
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon < 0 || text.IndexOf(':') != colon)
            {
                section.Fail(key, Shape); // bare IPv6 would be ambiguous
            }
            host = text[..colon];
            port = text[(colon + 1)..];
        }

        if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var portNumber) || portNumber > 65535)
        {
            section.Fail(key, Shape);
        }
        IPAddress? address;
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            address = IPAddress.Loopback;
        }
        else if (!IPAddress.TryParse(host, out address) || host.Length == 0 || !LooksLikeIpLiteral(host))
        {
            section.Fail(key, Shape);
        }
        return new IPEndPoint(address, portNumber);
    }

    // IPAddress.TryParse also accepts shorthands such as "1" or "127.1"; a listen address should be written out.
    private static bool LooksLikeIpLiteral(string host) =>
        host.Contains(':') || (host.Count(c => c == '.') == 3 && host.All(c => char.IsAsciiDigit(c) || c == '.'));

    private static X509Certificate2 LoadServerCertificate(ConfigReader tls, string certificateKey, string privateKeyKey)
    {
        var certificatePath = tls.GetPath(certificateKey) ?? throw tls.Required(certificateKey);
        var privateKeyPath = tls.GetPath(privateKeyKey) ?? throw tls.Required(privateKeyKey);
        var certificatePem = tls.ReadFile(certificateKey, certificatePath);
        var privateKeyPem = tls.ReadFile(privateKeyKey, privateKeyPath);

        try
        {
            using var check = X509Certificate2.CreateFromPem(certificatePem);
        }
        catch (CryptographicException e)
        {
            throw new ConfigException($"{tls.PathOf(certificateKey)}: file {certificatePath} holds no valid PEM certificate", e);
        }

        X509Certificate2 withKey;
        try
        {
            withKey = X509Certificate2.CreateFromPem(certificatePem, privateKeyPem);
        }
        catch (CryptographicException e)
        {
            throw new ConfigException(
                $"{tls.PathOf(privateKeyKey)}: file {privateKeyPath} holds no unencrypted PEM private key matching the certificate", e);
        }

        // An ephemeral PEM key cannot be used by SslStream on every platform; a PKCS#12 round-trip gives it a usable store.
        using (withKey)
        {
            try
            {
                return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
            }
            catch (CryptographicException e)
            {
                throw new ConfigException($"{tls.PathOf(privateKeyKey)}: the certificate and key cannot be used together: {e.Message}", e);
            }
        }
    }

    private static void LoadRootCertificates(ConfigReader target, string key, string path, X509Certificate2Collection into)
    {
        try
        {
            into.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is CryptographicException)
        {
            foreach (var certificate in into)
            {
                certificate.Dispose();
            }
            into.Clear();
            throw new ConfigException($"{target.PathOf(key)}: file {path} is not a valid PEM certificate bundle", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"{target.PathOf(key)}: cannot read file {path}: {e.Message}", e);
        }
        if (into.Count == 0)
        {
            target.Fail(key, $"file {path} holds no PEM certificate");
        }
    }
}
