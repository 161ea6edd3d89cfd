using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Wire.Enforcement;
using Wire.Enforcement.Diagnostics;
using Wire.Enforcement.Transport;
using Wire.Ssh.Authentication;

namespace Wire.Ssh.Proxy;

/// <summary>
/// The SSH listener: every connection becomes an <see cref="SshProxySession"/> (Wire as the SSH server to the client
/// and as an SSH client to the target the user name names).
/// </summary>
public sealed partial class SshProxyServer : IAsyncDisposable
{
    private readonly WireListener _listener;
    private readonly SshProxyOptions _options;
    private readonly ISshUserAuthenticator _authenticator;
    private readonly WireEnforcement? _enforcement;
    private readonly ILogger _logger;
    private readonly ConnectionGate _gate;
    private long _nextSessionId;

    /// <summary>Creates the server; call <see cref="Start"/> to accept connections.</summary>
    /// <param name="listen">Where to listen (port 0 picks a free one).</param>
    /// <param name="options">Host keys, targets and limits.</param>
    /// <param name="authenticator">Decides who a client is.</param>
    /// <param name="loggerFactory">Where sessions log; null for none.</param>
    /// <param name="enforcement">Rules, approvals and recording; null enforces nothing.</param>
    public SshProxyServer(IPEndPoint listen, SshProxyOptions options, ISshUserAuthenticator authenticator, ILoggerFactory? loggerFactory = null,
        WireEnforcement? enforcement = null)
    {
        if (options.HostKeys.Count == 0)
        {
            throw new ArgumentException("At least one host key is required.", nameof(options));
        }
        if (options.Targets.Count == 0)
        {
            throw new ArgumentException("At least one target is required.", nameof(options));
        }
        _options = options;
        _authenticator = authenticator;
        _enforcement = enforcement;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Wire.Ssh");
        _gate = new ConnectionGate(options.Connections, "ssh");
        _listener = new WireListener(listen, RunSessionAsync, _logger, "ssh", options.ProxyProtocol);
    }

    /// <summary>The bound address.</summary>
    public IPEndPoint LocalEndPoint => _listener.LocalEndPoint;

    /// <summary>Connections currently open.</summary>
    public int ActiveConnections => _listener.ActiveConnections;

    /// <summary>Starts accepting clients.</summary>
    public void Start() => _listener.Start();

    /// <summary>Stops accepting, lets sessions finish until <paramref name="drainToken"/> is cancelled, then closes the rest.</summary>
    public Task StopAsync(CancellationToken drainToken) => _listener.StopAsync(drainToken);

    /// <summary>Stops at once, closing every connection.</summary>
    public ValueTask DisposeAsync() => _listener.DisposeAsync();

    /// <summary>
    /// Runs one session over connections the host owns, without the listener (which need not be started): the client's
    /// handshake and login as on a socket, then, when a channel first needs the target, Wire logs in over
    /// <paramref name="upstream"/> with the target's credential. Returns when the session ended; both pipes are then completed.
    /// </summary>
    /// <param name="client">The client's connection, from its first byte (the SSH version line).</param>
    /// <param name="upstream">A connection to the SSH server of the target the client will name, not yet logged in.</param>
    /// <param name="clientEndPoint">The client's address, for logs, recordings and rules; null when there is none.</param>
    /// <param name="cancellationToken">Ends the session when cancelled.</param>
    public async Task RunAsync(IDuplexPipe client, IDuplexPipe upstream, IPEndPoint? clientEndPoint = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(upstream);
        using var lease = _gate.Enter();
        if (!lease.Admitted)
        {
            Log.OverLimit(_logger, clientEndPoint?.ToString() ?? "", lease.Refuse());
            WirePipes.FromPipe(client).Dispose();
            WirePipes.FromPipe(upstream).Dispose();
            return;
        }
        var session = new SshProxySession(_options, _authenticator, _enforcement, _logger, client, upstream, clientEndPoint,
            Interlocked.Increment(ref _nextSessionId), lease);
        await session.RunAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task RunSessionAsync(Socket socket, IPEndPoint? client, CancellationToken ct)
    {
        // Over the limit the connection is closed before any work, as sshd does past MaxStartups.
        using var lease = _gate.Enter();
        if (!lease.Admitted)
        {
            Log.OverLimit(_logger, client?.ToString() ?? "", lease.Refuse());
            socket.Dispose();
            return;
        }
        socket.NoDelay = true;
        var session = new SshProxySession(_options, _authenticator, _enforcement, _logger, socket, client, Interlocked.Increment(ref _nextSessionId), lease);
        await session.RunAsync(ct).ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "ssh: refused {Client}: {Reason}")]
        public static partial void OverLimit(ILogger logger, string client, string reason);
    }
}
