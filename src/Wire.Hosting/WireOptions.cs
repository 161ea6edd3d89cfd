using Wire.Hosting.Configuration;
using Wire.Http.Proxy;
using Wire.Postgres.Proxy;
using Wire.Ssh.Proxy;

namespace Wire.Hosting;

/// <summary>
/// What <c>AddWire</c> read from configuration, in the gateway's config format (docs/configuration.md): identity, rules,
/// policy, recording and the sections of the listeners a host added. Read and validated when the host starts; a bad
/// value stops the start with an <see cref="Microsoft.Extensions.Options.OptionsValidationException"/> naming its key.
/// </summary>
public sealed class WireOptions
{
    internal GatewayConfig? Config { get; set; }

    internal string? Error { get; set; }

    /// <summary>
    /// The host's own detectors and mask styles (<c>AddDetector</c>, <c>AddMasker</c>) the rules of <see cref="Config"/>
    /// were validated against and carry (<see cref="Wire.Enforcement.Policy.RuleSet.Masking"/>); a config read again
    /// (a reload) must be read with them.
    /// </summary>
    internal Wire.Enforcement.Masking.CustomMasking Masking { get; set; } = Wire.Enforcement.Masking.CustomMasking.None;

    /// <summary>Where <see cref="Config"/> was read from, and what its relative paths resolve against: read again when it reloads.</summary>
    internal (Microsoft.Extensions.Configuration.IConfiguration Configuration, string ContentRoot)? Source { get; set; }

    internal HashSet<string> Protocols { get; } = new(StringComparer.Ordinal);

    /// <summary>The PostgreSQL listener read from the <c>postgres</c> section; null until <c>AddPostgres</c> asked for it.</summary>
    public PgProxyOptions? Postgres => Protocols.Contains(PostgresSection) ? Config?.Postgres : null;

    /// <summary>The HTTP listener read from the <c>http</c> section; null until <c>AddHttp</c> asked for it.</summary>
    public HttpProxyOptions? Http => Protocols.Contains(HttpSection) ? Config?.Http : null;

    /// <summary>The SSH proxy read from the <c>ssh</c> section; null until <c>AddSsh</c> asked for it.</summary>
    public SshProxyOptions? Ssh => Protocols.Contains(SshSection) ? Config?.Ssh?.Proxy : null;

    internal const string PostgresSection = "postgres";
    internal const string HttpSection = "http";
    internal const string SshSection = "ssh";
}
