using Microsoft.Extensions.Logging;
using Wire.Enforcement.Grants;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Recording;
using Wire.Hosting.Configuration;
using Wire.Http.Proxy;
using Wire.Postgres.Proxy;

namespace Wire.Hosting;

/// <summary>Everything a gateway needs to run, whether it came from a config file or from <c>wire demo</c>.</summary>
internal sealed class GatewaySettings
{
    public required IIdentityValidator IdentityValidator { get; init; }

    public PgProxyOptions? Postgres { get; init; }

    public HttpProxyOptions? Http { get; init; }

    public SshGatewayOptions? Ssh { get; init; }

    /// <summary><c>identity.users</c> as last (re)loaded: their SSH keys log in to the SSH listener.</summary>
    public ConfiguredUsers Users { get; init; } = new([]);

    /// <summary>The rules in force; null when the config has no <c>rules</c>, <c>policy</c> or <c>recording</c> (sessions are relayed uninspected).</summary>
    public Wire.Enforcement.Policy.RuleSetProvider? Rules { get; init; }

    /// <summary>Where sessions are recorded; null records nothing.</summary>
    public Wire.Enforcement.Recording.RecordingOptions? Recording { get; init; }

    /// <summary>Where <see cref="Recording"/> keeps recordings: the shared state (<c>recording.store</c>) or its directory.</summary>
    public RecordingStore? RecordingStore
    {
        get => field ?? (Recording is { } recording ? new DirectoryRecordingStore(recording.Directory) : null);
        init;
    }

    /// <summary>Where reviews go; one broker for every listener.</summary>
    public Wire.Enforcement.Approvals.IApprovalQueue Approvals { get; init; } = new Wire.Enforcement.Approvals.InMemoryApprovalBroker();

    /// <summary>The database several gateway instances share reviews and cancel requests through; null: this process only.</summary>
    public State.PostgresState? State { get; init; }

    /// <summary>The live sessions of every instance sharing <see cref="State"/>; null: <see cref="Sessions"/> only.</summary>
    public State.PostgresSessionDirectory? SharedSessions { get; init; }

    /// <summary>A host's own approval brokers (embedding): asked beside <see cref="Approvals"/>, the first decision counts.</summary>
    public IReadOnlyList<Wire.Enforcement.Approvals.IApprovalBroker> ApprovalBrokers { get; init; } = [];

    /// <summary>A host's own recorders (embedding): every session is recorded by each, beside <see cref="Recording"/>.</summary>
    public IReadOnlyList<ISessionRecorderFactory> Recorders { get; init; } = [];

    /// <summary>The live sessions of every listener (listed and ended by the admin API).</summary>
    public Wire.Enforcement.Sessions.SessionRegistry Sessions { get; init; } = new();

    /// <summary>Who approves just-in-time grants (<c>grants</c>); null: the <see cref="AdminGroups"/>, for at most 8 hours.</summary>
    public GrantOptions? Grants { get; init; }

    /// <summary>Groups whose members may list and end sessions and read recordings over the admin API.</summary>
    public IReadOnlyList<string> AdminGroups { get; init; } = ["admin"];

    /// <summary>Where the admin API and approval page listen; null runs none.</summary>
    public System.Net.IPEndPoint? AdminListen { get; init; }

    /// <summary>The config file the settings came from, if any (enables hot reload of identity).</summary>
    public Configuration.GatewayConfig? Config { get; init; }

    public LogLevel LoggingLevel { get; init; } = LogLevel.Information;

    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Called once the listeners accept connections (the demo prints its instructions then).</summary>
    public Action<GatewayService>? Started { get; init; }

    /// <summary>The identity validator a configuration describes: static tokens first, then OIDC.</summary>
    public static IIdentityValidator CreateIdentityValidator(GatewayConfig config, ILoggerFactory? loggerFactory = null)
    {
        var staticTokens = config.Tokens.Count > 0 ? new StaticTokenValidator(config.Tokens) : null;
        var oidc = config.Oidc is { } o
            ? new OidcTokenValidator(o, TimeProvider.System, loggerFactory?.CreateLogger("Wire.Identity"))
            : null;
        return new CompositeIdentityValidator(staticTokens, oidc);
    }

    /// <summary>The settings a validated configuration describes.</summary>
    public static GatewaySettings From(GatewayConfig config)
    {
        var state = config.StatePostgres is { } connectionString ? new State.PostgresState(connectionString) : null;
        var sessions = new Wire.Enforcement.Sessions.SessionRegistry();
        return new GatewaySettings
        {
            IdentityValidator = new ReloadableIdentityValidator(CreateIdentityValidator(config)),
            State = state,
            Sessions = sessions,
            SharedSessions = state is null ? null : new State.PostgresSessionDirectory(state, sessions),
            Approvals = state is null ? new Wire.Enforcement.Approvals.InMemoryApprovalBroker() : new State.PostgresApprovalBroker(state),
            Config = config,
            Postgres = config.Postgres,
            Http = config.Http,
            Ssh = config.Ssh,
            Users = new ConfiguredUsers(config.Users, config.SshCertificateAuthorities),
            Rules = config.EnforcementEnabled ? new RuleSetProvider(config.Rules) : null,
            Recording = config.Recording,
            RecordingStore = config.RecordingInState && state is not null ? new State.PostgresRecordingStore(state.DataSource) : null,
            AdminListen = config.AdminListen,
            AdminGroups = config.AdminGroups,
            Grants = config.Grants,
            LoggingLevel = config.LoggingLevel,
            ShutdownTimeout = config.ShutdownTimeout,
        };
    }
}
