using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Wire.Enforcement.Approvals;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Recording;
using Wire.Enforcement.Sessions;
using Wire.Hosting.Configuration;

namespace Wire.Hosting;

/// <summary>
/// Runs the listeners <c>AddWire</c> was given inside the host: started with it, drained on stop for up to the
/// configuration's <c>shutdownTimeout</c> (or the host's shutdown timeout, whichever ends first), then aborted.
/// </summary>
internal sealed class WireHostedService(
    IOptions<WireOptions> options,
    ILoggerFactory loggerFactory,
    InMemoryApprovalBroker approvals,
    SessionRegistry sessions,
    IEnumerable<IApprovalBroker> brokers,
    IEnumerable<ISessionRecorderFactory> recorders,
    IEnumerable<IAccessRule> rules) : IHostedService, IAsyncDisposable
{
    private GatewayService? _gateway;
    private ConfigReloader? _reloader;
    private IDisposable? _reloads;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var wire = options.Value; // validated at start (ValidateOnStart), so the config is there
        var from = GatewaySettings.From(wire.Config!);
        var settings = new GatewaySettings
        {
            IdentityValidator = from.IdentityValidator,
            Postgres = wire.Postgres,
            Http = wire.Http,
            Ssh = wire.Protocols.Contains(WireOptions.SshSection) ? from.Ssh : null,
            Users = from.Users,
            // Rules written in code turn judging on even without configured rules.
            Rules = rules.ToArray() is { Length: > 0 } custom
                ? new RuleSetProvider(from.Rules?.Current ?? RuleSet.AllowAll, custom)
                : from.Rules,
            Recording = from.Recording,
            RecordingStore = from.RecordingStore,
            State = from.State,
            Approvals = from.State is null ? approvals : from.Approvals,
            ApprovalBrokers = [.. brokers],
            Recorders = [.. recorders],
            Sessions = from.State is null ? sessions : from.Sessions,
            SharedSessions = from.SharedSessions,
            ShutdownTimeout = from.ShutdownTimeout,
        };
        _gateway = new GatewayService(settings, loggerFactory);
        if (wire.Source is var (configuration, contentRoot) && settings.IdentityValidator is ReloadableIdentityValidator identity)
        {
            // Identity and rules follow the host's configuration when it reloads, read with the same detectors and styles.
            _reloader = new ConfigReloader(wire.Config!, identity, settings.Rules, loggerFactory, settings.Users, watchFile: false);
            _reloads = ChangeToken.OnChange(configuration.GetReloadToken, () =>
            {
                GatewayConfig next;
                try
                {
                    next = GatewayConfig.FromConfiguration(configuration, contentRoot, masking: wire.Masking);
                }
                catch (ConfigException ex)
                {
                    _reloader.Failed(ex.Message);
                    return;
                }
                _reloader.Apply(next);
            });
        }
        return _gateway.StartAsync(cancellationToken);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _reloads?.Dispose();
        if (_gateway is null)
        {
            return;
        }
        using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        drain.CancelAfter(options.Value.Config!.ShutdownTimeout);
        await _gateway.StopAsync(drain.Token).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => _gateway?.DisposeAsync() ?? ValueTask.CompletedTask;
}
