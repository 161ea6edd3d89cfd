using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wire.Enforcement;
using Wire.Enforcement.Grants;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Recording;
using Wire.Hosting.Configuration;
using Wire.Hosting.Ssh;
using Wire.Http.Proxy;
using Wire.Postgres.Proxy;
using Wire.Ssh.Proxy;

namespace Wire.Hosting;

/// <summary>
/// Runs the protocol listeners of one gateway configuration inside the Generic Host: started with
/// the host, drained on SIGTERM/Ctrl-C for up to the host's shutdown timeout, then aborted.
/// </summary>
internal sealed partial class GatewayService : IHostedService, IAsyncDisposable
{
    private readonly GatewaySettings _settings;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private PgProxyServer? _postgres;
    private HttpProxyServer? _http;
    private SshProxyServer? _ssh;

    public GatewayService(GatewaySettings settings, ILoggerFactory loggerFactory)
    {
        _settings = settings;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Wire.Gateway");
        // Grants are asked for and approved over the admin API, so they exist only with it.
        if (settings.AdminListen is not null)
        {
            Grants = new GrantRegistry(settings.Sessions, settings.Grants ?? new GrantOptions { Approvers = settings.AdminGroups },
                settings.Recording is { } recording
                    ? new FileSessionRecorderFactory(recording, TimeProvider.System, loggerFactory, settings.RecordingStore)
                    : null,
                TimeProvider.System, loggerFactory.CreateLogger("Wire.Grants"));
            // Shared by the instances of one state: subscribed now, before the state starts listening; loaded once it has.
            _grantStore = settings.State is { } state ? new State.PostgresGrantStore(state) : null;
        }
    }

    private readonly State.PostgresGrantStore? _grantStore;

    /// <summary>The just-in-time grants of every listener; null without the admin API.</summary>
    public GrantRegistry? Grants { get; }

    // Enforcement runs when there are rules (or a recording), and with the admin API, which lists and ends live sessions.
    // A host's own recorders (embedding) count as a recording too.
    private WireEnforcement? CreateEnforcement() =>
        _settings.Rules is not null || _settings.AdminListen is not null || _settings.Recorders.Count > 0
        ? new WireEnforcement
        {
            Rules = _settings.Rules ?? new Wire.Enforcement.Policy.RuleSetProvider(Wire.Enforcement.Policy.RuleSet.AllowAll),
            Approvals = _settings.ApprovalBrokers.Count == 0
                ? _settings.Approvals
                : new Composition.FirstDecisionApprovalBroker([_settings.Approvals, .. _settings.ApprovalBrokers]),
            Recorder = CreateRecorder(),
            Sessions = _settings.Sessions,
            Grants = Grants,
        }
        : null;

    private ISessionRecorderFactory? CreateRecorder()
    {
        List<ISessionRecorderFactory> recorders = [.. _settings.Recorders];
        if (_settings.Recording is { } recording)
        {
            recorders.Insert(0, new FileSessionRecorderFactory(recording, TimeProvider.System, _loggerFactory, _settings.RecordingStore));
        }
        return recorders.Count switch
        {
            0 => null,
            1 => recorders[0],
            _ => new Composition.FanOutRecorderFactory(recorders),
        };
    }

    /// <summary>The PostgreSQL listener, once started.</summary>
    public PgProxyServer? Postgres => _postgres;

    /// <summary>The HTTP listener, once started.</summary>
    public HttpProxyServer? Http => _http;

    /// <summary>The SSH listener, once started.</summary>
    public SshProxyServer? Ssh => _ssh;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_settings.State is { } state)
        {
            // A cancel request that reaches this instance for another's session is handed over through the database.
            state.LoggerFactory = _loggerFactory;
            state.Subscribe(CancelChannel, payload => _ = CancelHandedOverAsync(payload));
            await state.StartAsync(cancellationToken).ConfigureAwait(false);
            if (_grantStore is not null)
            {
                _grantStore.Attach(Grants!);
            }
        }
        if (_settings.Postgres is { } pg)
        {
            _postgres = new PgProxyServer(pg, _settings.IdentityValidator, _loggerFactory, CreateEnforcement());
            if (_settings.State is { } shared)
            {
                _postgres.CancelElsewhere = (processId, secretKey, ct) => shared.NotifyAsync(CancelChannel,
                    string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{processId}:{secretKey}"), ct);
            }
            _postgres.Start();
            Log.Listening(_logger, "postgres", _postgres.LocalEndPoint.ToString(), pg.Targets.Count);
        }
        if (_settings.Http is { } http)
        {
            _http = new HttpProxyServer(http, _settings.IdentityValidator, _loggerFactory, CreateEnforcement());
            _http.Start();
            Log.Listening(_logger, "http", _http.LocalEndPoint.ToString(), http.Targets.Count);
        }
        if (_settings.Ssh is { } ssh)
        {
            _ssh = new SshProxyServer(ssh.Listen, ssh.Proxy, new GatewaySshAuthenticator(ssh.Proxy, _settings.IdentityValidator, _settings.Users),
                _loggerFactory, CreateEnforcement());
            _ssh.Start();
            Log.Listening(_logger, "ssh", _ssh.LocalEndPoint.ToString(), ssh.Proxy.Targets.Count);
        }

        _settings.Started?.Invoke(this);
    }

    private const string CancelChannel = "wire_cancel";

    /// <summary>A cancel request another instance received: carried out when the session is this instance's.</summary>
    private async Task CancelHandedOverAsync(string payload)
    {
        var parts = payload.Split(':');
        if (_postgres is { } postgres && parts.Length == 2
            && int.TryParse(parts[0], System.Globalization.CultureInfo.InvariantCulture, out int processId)
            && int.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out int secretKey))
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                if (await postgres.CancelAsync(processId, secretKey, limit.Token).ConfigureAwait(false))
                {
                    Log.CancelHandedOver(_logger);
                }
            }
            catch (OperationCanceledException)
            {
                // The server did not take the cancel request in time; the statement runs on, as after a lost packet.
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Reviews cannot outlive the process that holds them: refused now (never approved), so the clients that wait are
        // told before the drain closes their connections.
        if (_settings.Approvals.CancelAll("the gateway is stopping") is > 0 and var cancelled)
        {
            Log.ReviewsCancelled(_logger, cancelled);
        }
        var draining = new List<Task>();
        if (_postgres is not null)
        {
            Log.Draining(_logger, _postgres.ActiveConnections);
            draining.Add(_postgres.StopAsync(cancellationToken));
        }
        if (_http is not null)
        {
            Log.Draining(_logger, _http.ActiveConnections);
            draining.Add(_http.StopAsync(cancellationToken));
        }
        if (_ssh is not null)
        {
            Log.Draining(_logger, _ssh.ActiveConnections);
            draining.Add(_ssh.StopAsync(cancellationToken));
        }
        await Task.WhenAll(draining).ConfigureAwait(false);

        // Grants in memory end with the process (a restarted gateway admits nobody until asked again); shared ones live on.
        if (Grants is not null)
        {
            await Grants.DisposeAsync().ConfigureAwait(false);
        }
        if (_settings.State is { } state)
        {
            await state.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync().ConfigureAwait(false);
        }
        if (_http is not null)
        {
            await _http.DisposeAsync().ConfigureAwait(false);
        }
        if (_ssh is not null)
        {
            await _ssh.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(104, LogLevel.Warning, "Stopping: {Count} pending reviews cancelled (their executions were refused)")]
        public static partial void ReviewsCancelled(ILogger logger, int count);

        [LoggerMessage(100, LogLevel.Information, "Listening for {Protocol} on {EndPoint} ({Targets} targets)")]
        public static partial void Listening(ILogger logger, string protocol, string endPoint, int targets);

        [LoggerMessage(105, LogLevel.Information, "A cancel request received by another gateway instance was carried out here")]
        public static partial void CancelHandedOver(ILogger logger);

        [LoggerMessage(101, LogLevel.Information, "Shutting down: draining {Connections} connections")]
        public static partial void Draining(ILogger logger, int connections);
    }
}
