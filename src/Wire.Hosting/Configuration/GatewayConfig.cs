using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using System.Globalization;
using Wire.Enforcement.Grants;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Transport;
using Wire.Postgres.Proxy;

namespace Wire.Hosting.Configuration;

/// <summary>
/// The gateway's validated config: one JSON file (docs/configuration.md). Loading is strict: unknown keys and invalid
/// values are a <see cref="ConfigException"/> naming the key, secrets are resolved, files are read and certificates
/// loaded, so a config that loads is one the gateway can run.
/// </summary>
internal sealed partial class GatewayConfig
{
    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        MaxDepth = 32,
    };

    private static readonly Dictionary<string, LogLevel> LogLevels = new(StringComparer.Ordinal)
    {
        ["trace"] = LogLevel.Trace,
        ["debug"] = LogLevel.Debug,
        ["information"] = LogLevel.Information,
        ["warning"] = LogLevel.Warning,
        ["error"] = LogLevel.Error,
        ["critical"] = LogLevel.Critical,
        ["none"] = LogLevel.None,
    };

    private GatewayConfig(string configPath, string baseDirectory)
    {
        ConfigPath = configPath;
        BaseDirectory = baseDirectory;
    }

    /// <summary>The absolute path of the config file; empty when the config was parsed from a string.</summary>
    public string ConfigPath { get; }

    /// <summary>The absolute directory relative paths in the config are resolved against.</summary>
    public string BaseDirectory { get; }

    /// <summary>The PostgreSQL listener and its targets; null when the config has no <c>postgres</c> section.</summary>
    public PgProxyOptions? Postgres { get; private set; }

    /// <summary>Static tokens from <c>identity.tokens</c>, secrets resolved.</summary>
    public IReadOnlyList<StaticToken> Tokens { get; private set; } = [];

    /// <summary>Users from <c>identity.users</c>.</summary>
    public IReadOnlyList<ConfiguredUser> Users { get; private set; } = [];

    /// <summary>CA public keys for OpenSSH user certificates, from <c>identity.sshCa</c>.</summary>
    public IReadOnlyList<string> SshCertificateAuthorities { get; private set; } = [];

    /// <summary>OIDC token validation settings from <c>identity.oidc</c>; null when absent.</summary>
    public OidcOptions? Oidc { get; private set; }

    /// <summary>The minimum log level, from <c>logging.level</c>. Default <see cref="LogLevel.Information"/>.</summary>
    public LogLevel LoggingLevel { get; private set; } = LogLevel.Information;

    /// <summary>Where the admin API and approval page listen (<c>admin.listen</c>); null when the config has no <c>admin</c> section.</summary>
    public IPEndPoint? AdminListen { get; private set; }

    /// <summary>Groups whose members may list and end sessions and read recordings over the admin API (<c>admin.groups</c>).</summary>
    public IReadOnlyList<string> AdminGroups { get; private set; } = ["admin"];

    /// <summary>How long sessions may drain on shutdown, from <c>shutdownTimeout</c>. Default 30 s.</summary>
    public TimeSpan ShutdownTimeout { get; private set; } = TimeSpan.FromSeconds(30);

    /// <summary>Loads and validates the config file at <paramref name="path"/>.</summary>
    /// <param name="path">The config file; relative to the current directory.</param>
    /// <param name="environment">Resolves <c>env:NAME</c> secrets; defaults to the process environment.</param>
    /// <exception cref="ConfigException">The file cannot be read or is invalid.</exception>
    public static GatewayConfig Load(string path, Func<string, string?>? environment = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fullPath = Path.GetFullPath(path);
        return ParseCore(ReadFile(fullPath), fullPath, Path.GetDirectoryName(fullPath)!, environment);
    }

    /// <summary>The config file's text; a file that cannot be read is a <see cref="ConfigException"/> naming it.</summary>
    private static string ReadFile(string fullPath)
    {
        try
        {
            return File.ReadAllText(fullPath);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ConfigException($"{fullPath}: config file does not exist", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"{fullPath}: cannot read config file: {e.Message}", e);
        }
    }

    /// <summary>Config text as a document; invalid JSON is a <see cref="ConfigException"/> naming <paramref name="name"/> and the position.</summary>
    private static JsonDocument ParseDocument(string json, string name)
    {
        try
        {
            return JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException e)
        {
            // The reader's own message quotes the offending character, which could belong to a secret: give the position only.
            var where = e.LineNumber is { } line && e.BytePositionInLine is { } column
                ? $" at line {line + 1}, byte {column + 1}"
                : string.Empty;
            throw new ConfigException($"{name}: invalid JSON{where}");
        }
    }

    /// <summary>Parses and validates config text; relative paths resolve against <paramref name="baseDirectory"/>.</summary>
    /// <param name="json">The config file's text.</param>
    /// <param name="baseDirectory">The directory that stands for the config file's own.</param>
    /// <param name="environment">Resolves <c>env:NAME</c> secrets; defaults to the process environment.</param>
    /// <exception cref="ConfigException">The text is invalid.</exception>
    public static GatewayConfig Parse(string json, string baseDirectory, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentException.ThrowIfNullOrEmpty(baseDirectory);
        return ParseCore(json, configPath: string.Empty, Path.GetFullPath(baseDirectory), environment);
    }

    /// <summary>
    /// Reads and validates a config held in <see cref="Microsoft.Extensions.Configuration.IConfiguration"/> (an
    /// <c>appsettings.json</c> section, environment variables, ...): the same keys as the file, every value a string.
    /// </summary>
    /// <param name="configuration">The section that stands for the config file's root object.</param>
    /// <param name="baseDirectory">What relative paths resolve against.</param>
    /// <param name="environment">Resolves <c>env:NAME</c> secrets; defaults to the process environment.</param>
    /// <param name="masking">The embedding host's own detectors and mask styles, which mask rules may name; null: none.</param>
    /// <exception cref="ConfigException">The section is invalid.</exception>
    public static GatewayConfig FromConfiguration(Microsoft.Extensions.Configuration.IConfiguration configuration, string baseDirectory,
        Func<string, string?>? environment = null, Wire.Enforcement.Masking.CustomMasking? masking = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentException.ThrowIfNullOrEmpty(baseDirectory);
        return ParseCore(ConfigurationJson.ToJson(configuration), configPath: string.Empty, Path.GetFullPath(baseDirectory), environment,
            textScalars: true, masking);
    }

    private static GatewayConfig ParseCore(string json, string configPath, string baseDirectory, Func<string, string?>? environment,
        bool textScalars = false, Wire.Enforcement.Masking.CustomMasking? masking = null)
    {
        using (var document = ParseDocument(json, configPath.Length == 0 ? "config" : configPath))
        {
            var config = new GatewayConfig(configPath, baseDirectory) { Masking = masking };
            config.RestartFingerprint = Fingerprint(document.RootElement);
            var certificates = new List<X509Certificate2>();
            try
            {
                config.Read(ConfigReader.Root(document.RootElement, baseDirectory, environment ?? Environment.GetEnvironmentVariable, textScalars),
                    certificates);
            }
            catch
            {
                foreach (var certificate in certificates)
                {
                    certificate.Dispose();
                }
                throw;
            }
            return config;
        }
    }

    /// <summary>
    /// The text of every section that only takes effect on restart (all but <c>identity</c>, <c>rules</c> and <c>policy</c>),
    /// so a reload can tell whether a restart is needed.
    /// </summary>
    public string RestartFingerprint { get; private set; } = string.Empty;

    private static string Fingerprint(JsonElement root)
    {
        var text = new System.Text.StringBuilder();
        if (root.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name is not ("identity" or "rules" or "policy"))
                {
                    text.Append(property.Name).Append('=').Append(property.Value.GetRawText()).Append('\n');
                }
            }
        }
        return text.ToString();
    }

    private void Read(ConfigReader root, List<X509Certificate2> certificates)
    {
        root.EnsureOnly("identity", "postgres", "http", "ssh", "rules", "policy", "recording", "admin", "grants", "logging", "shutdownTimeout", "state");

        if (root.GetObject("identity") is { } identity)
        {
            ReadIdentity(identity);
        }
        ReadRules(root);
        if (root.GetObject("postgres") is { } postgres)
        {
            Postgres = ReadPostgres(postgres, certificates);
        }
        if (root.GetObject("http") is { } http)
        {
            Http = ReadHttp(http, certificates);
        }
        if (root.GetObject("ssh") is { } ssh)
        {
            Ssh = ReadSsh(ssh);
        }
        if (root.GetObject("admin") is { } admin)
        {
            admin.EnsureOnly("listen", "groups");
            AdminListen = admin.GetString("listen") is { } adminListen ? ParseListen(admin, "listen", adminListen) : new IPEndPoint(IPAddress.Loopback, 8080);
            if (admin.Has("groups"))
            {
                AdminGroups = admin.GetStringArray("groups");
            }
        }
        if (root.GetObject("logging") is { } logging)
        {
            logging.EnsureOnly("level");
            LoggingLevel = logging.GetChoice("level", LogLevels, LogLevel.Information);
        }
        ShutdownTimeout = root.GetDuration("shutdownTimeout", TimeSpan.FromSeconds(30), allowZero: true);
        ReadState(root);
        ReadRecording(root);
        ReadGrants(root);
    }

    /// <summary>
    /// The connection string of the PostgreSQL database several gateway instances share their reviews in, and hand each
    /// other cancel requests through (<c>state.postgres</c>, a secret); null keeps them in this process.
    /// </summary>
    public string? StatePostgres { get; private set; }

    private void ReadState(ConfigReader root) => StatePostgres = ReadStatePostgres(root);

    private static string? ReadStatePostgres(ConfigReader root)
    {
        if (root.GetObject("state") is not { } state)
        {
            return null;
        }
        state.EnsureOnly("postgres");
        var connectionString = state.GetSecret("postgres") ?? throw state.Required("postgres");
        string? host = null;
        try
        {
            host = new Npgsql.NpgsqlConnectionStringBuilder(connectionString).Host;
        }
        catch (ArgumentException)
        {
            // Npgsql's message may quote the text, which holds a password: name the key only.
        }
        if (string.IsNullOrEmpty(host))
        {
            state.Fail("postgres", "is not a PostgreSQL connection string with a Host (Host=...;Username=...;Password=...;Database=...)");
        }
        return connectionString;
    }

    /// <summary>Who approves grants (<c>grants.approvers</c>, default the admin groups) and their longest duration.</summary>
    public GrantOptions Grants { get; private set; } = new() { Approvers = ["admin"] };

    private void ReadGrants(ConfigReader root)
    {
        var grants = root.GetObject("grants");
        grants?.EnsureOnly("approvers", "maxDuration");
        Grants = new GrantOptions
        {
            Approvers = grants is not null && grants.Has("approvers") ? grants.GetStringArray("approvers") : AdminGroups,
            MaxDuration = grants?.GetDuration("maxDuration", TimeSpan.FromHours(8)) ?? TimeSpan.FromHours(8),
        };
        if (grants is not null && Grants.Approvers.Count == 0)
        {
            grants.Fail("approvers", "must name at least one group");
        }

        // Grants are asked for and approved over the admin API: without it, nothing could ever be granted.
        string? needsGrants = root.Has("grants") ? "grants" : RequireGrantPath(root);
        if (needsGrants is not null && AdminListen is null)
        {
            ConfigReader.Throw(needsGrants, "needs the admin section: grants are asked for and approved over the admin API");
        }
    }

    /// <summary>A protocol's connection limits (<c>maxConnections</c>, <c>maxConnectionsPerIdentity</c>, <c>idleTimeout</c>).</summary>
    /// <summary>A listener's <c>limits.bufferBytes</c>: the bytes each session pipe holds before back-pressure.</summary>
    private static long ReadBufferBytes(ConfigReader limits) =>
        limits.GetInt("bufferBytes", (int)WirePipes.MinBufferBytes, (int)WirePipes.MaxBufferBytes, (int)WirePipes.DefaultBufferBytes);

    private static ConnectionLimits ReadConnectionLimits(ConfigReader limits)
    {
        var defaults = new ConnectionLimits();
        int max = limits.GetInt("maxConnections", 1, 1_000_000, defaults.MaxConnections);
        return new ConnectionLimits
        {
            MaxConnections = max,
            MaxConnectionsPerIdentity = limits.GetInt("maxConnectionsPerIdentity", 1, 1_000_000, Math.Min(defaults.MaxConnectionsPerIdentity, max)),
            IdleTimeout = limits.GetDuration("idleTimeout", defaults.IdleTimeout, allowZero: true),
        };
    }

    /// <summary>The config path of the first <c>requireGrant: true</c> (a target's or a rule's), or null.</summary>
    private string? RequireGrantPath(ConfigReader root)
    {
        string? Find<T>(string section, IReadOnlyList<T>? items, Func<T, bool> requires)
        {
            for (int i = 0; i < (items?.Count ?? 0); i++)
            {
                if (requires(items![i]))
                {
                    return $"{section}[{i.ToString(CultureInfo.InvariantCulture)}].requireGrant";
                }
            }
            return null;
        }
        return Find<PgTargetOptions>("postgres.targets", Postgres is null ? null : [.. Postgres.Targets], t => t.RequireGrant)
            ?? Find<Wire.Http.Proxy.HttpTargetOptions>("http.targets", Http?.Targets, t => t.RequireGrant)
            ?? Find<Wire.Ssh.Proxy.SshProxyTarget>("ssh.targets", Ssh?.Proxy.Targets, t => t.RequireGrant)
            ?? Find<Wire.Enforcement.Policy.RuleDefinition>(root.PathOf("rules"), [.. Rules.Rules], r => r.RequireGrant);
    }
}
