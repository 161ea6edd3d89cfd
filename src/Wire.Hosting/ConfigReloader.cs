using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;
using Wire.Hosting.Configuration;

namespace Wire.Hosting;

/// <summary>
/// Reloads the parts of the config that hot-reload (DESIGN.md §4: <c>identity</c> and <c>rules</c>) when the file changes
/// or on SIGHUP, or, in a host that reads Wire's options from its <c>IConfiguration</c>, when that configuration reloads
/// (<see cref="Apply"/>). An invalid config keeps the running one and logs the error; changes to other sections log
/// "restart required".
/// </summary>
internal sealed partial class ConfigReloader : IHostedService, IDisposable
{
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(300);

    private readonly string _path;
    private readonly ReloadableIdentityValidator _identity;
    private readonly ConfiguredUsers? _users;
    private readonly RuleSetProvider? _rules;
    private readonly bool _enforcementEnabled;
    private readonly bool _watchFile;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private string _fingerprint;
    private FileSystemWatcher? _watcher;
    private PosixSignalRegistration? _sighup;
    private Timer? _timer;

    // watchFile: whether to watch the config file and SIGHUP; false when the host's own configuration calls Apply.
    public ConfigReloader(GatewayConfig initial, ReloadableIdentityValidator identity, RuleSetProvider? rules, ILoggerFactory loggerFactory,
        ConfiguredUsers? users = null, bool watchFile = true)
    {
        _watchFile = watchFile;
        _rules = rules;
        _users = users;
        _enforcementEnabled = initial.EnforcementEnabled;
        _path = initial.ConfigPath;
        _fingerprint = initial.RestartFingerprint;
        _identity = identity;
        _logger = loggerFactory.CreateLogger("Wire.Gateway.Config");
    }

    /// <summary>Raised after each reload attempt, with whether it was applied (tests wait on it).</summary>
    public event Action<bool>? Reloaded;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_watchFile)
        {
            return Task.CompletedTask;
        }
        _timer = new Timer(_ => Reload(), null, Timeout.Infinite, Timeout.Infinite);
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(_path)!, Path.GetFileName(_path))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        _watcher.Changed += (_, _) => Schedule();
        _watcher.Created += (_, _) => Schedule();
        _watcher.Renamed += (_, _) => Schedule();
        _watcher.EnableRaisingEvents = true;
        if (!OperatingSystem.IsWindows())
        {
            _sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true; // SIGHUP means "reload", not "terminate"
                Schedule();
            });
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    // Editors write a file in several steps: wait until it settles.
    private void Schedule() => _timer?.Change(Debounce, Timeout.InfiniteTimeSpan);

    internal void Reload()
    {
        GatewayConfig next;
        try
        {
            next = GatewayConfig.Load(_path);
        }
        catch (ConfigException ex)
        {
            Failed(ex.Message);
            return;
        }
        Apply(next);
    }

    /// <summary>A reload that could not be read: the running config stays.</summary>
    internal void Failed(string reason)
    {
        Log.ReloadFailed(_logger, reason);
        Reloaded?.Invoke(false);
    }

    /// <summary>Puts <paramref name="next"/>'s identity and rules in force; logs what needs a restart.</summary>
    internal void Apply(GatewayConfig next)
    {
        lock (_gate)
        {
            IIdentityValidator validator;
            try
            {
                validator = GatewaySettings.CreateIdentityValidator(next);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
            {
                Log.ReloadFailed(_logger, ex.Message);
                Reloaded?.Invoke(false);
                return;
            }

            // The previous validator may still be serving a login in flight; it is left to the GC.
            _identity.Swap(validator);
            _users?.Update(next.Users, next.SshCertificateAuthorities);
            _rules?.Update(next.Rules);
            if (next.EnforcementEnabled != _enforcementEnabled)
            {
                // Sessions relayed without inspection cannot start judging halfway (their prepared statements are unknown).
                Log.EnforcementRestartRequired(_logger);
            }
            if (next.RestartFingerprint != _fingerprint)
            {
                Log.RestartRequired(_logger);
                _fingerprint = next.RestartFingerprint;
            }

            Log.Reloaded(_logger, next.Tokens.Count, next.Oidc is not null, next.Rules.Rules.Count());
            Reloaded?.Invoke(true);
        }
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _watcher = null;
        _sighup?.Dispose();
        _sighup = null;
        _timer?.Dispose();
        _timer = null;
    }

    private static partial class Log
    {
        [LoggerMessage(110, LogLevel.Information, "Config reloaded: identity now has {Tokens} static tokens (OIDC: {Oidc}); {Rules} rules in force")]
        public static partial void Reloaded(ILogger logger, int tokens, bool oidc, int rules);

        [LoggerMessage(111, LogLevel.Error, "Config reload failed, the running config stays in force: {Reason}")]
        public static partial void ReloadFailed(ILogger logger, string reason);

        [LoggerMessage(113, LogLevel.Warning, "The rules key was added or removed: restart required to switch inspection of sessions on or off")]
        public static partial void EnforcementRestartRequired(ILogger logger);

        [LoggerMessage(112, LogLevel.Warning, "Config sections other than identity and rules changed: restart required for them to take effect")]
        public static partial void RestartRequired(ILogger logger);
    }
}
