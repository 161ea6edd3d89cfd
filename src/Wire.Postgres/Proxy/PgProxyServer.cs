using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Wire.Enforcement;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Transport;
using Wire.Postgres.Protocol;

namespace Wire.Postgres.Proxy;

/// <summary>
/// A PostgreSQL listener: accepts clients, authenticates them with their token, logs in to the
/// target they name with the credential Wire holds, and relays the session.
/// </summary>
public sealed class PgProxyServer : IAsyncDisposable
{
    private readonly WireListener _listener;
    private readonly Dictionary<string, PgTargetOptions> _targets;
    private long _nextSessionId;

    /// <summary>Creates the server; call <see cref="Start"/> to accept connections.</summary>
    /// <param name="options">Listener, TLS, limits and targets.</param>
    /// <param name="identityValidator">Turns the client's password (its token) into an identity.</param>
    /// <param name="loggerFactory">Where sessions log; null for none.</param>
    /// <param name="enforcement">Rules, approvals and recording; null relays without inspecting (no rules configured).</param>
    public PgProxyServer(PgProxyOptions options, IIdentityValidator identityValidator, ILoggerFactory? loggerFactory = null, WireEnforcement? enforcement = null)
    {
        Enforcement = enforcement;
        Options = options ?? throw new ArgumentNullException(nameof(options));
        IdentityValidator = identityValidator ?? throw new ArgumentNullException(nameof(identityValidator));
        Logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Wire.Postgres");
        _targets = new Dictionary<string, PgTargetOptions>(StringComparer.Ordinal);
        foreach (var target in options.Targets)
        {
            if (!_targets.TryAdd(target.Name, target))
            {
                throw new ArgumentException($"Target name \"{target.Name}\" is used twice.", nameof(options));
            }
        }

        if (options.ServerCertificate is not null)
        {
            CertificateContext = SslStreamCertificateContext.Create(options.ServerCertificate, additionalCertificates: null);
        }

        if (options.TlsRequired && CertificateContext is null)
        {
            throw new ArgumentException("TLS is required but no server certificate is configured.", nameof(options));
        }

        WirePipes.ValidateBufferBytes(options.Limits.BufferBytes, "postgres.limits.bufferBytes");
        Gate = new ConnectionGate(options.Connections, "postgres");
        _listener = new WireListener(options.Listen, RunSessionAsync, Logger, "postgres", options.ProxyProtocol);
    }

    /// <summary>The bound address (useful when listening on port 0).</summary>
    public IPEndPoint LocalEndPoint => _listener.LocalEndPoint;

    /// <summary>Connections currently open, including those still in their handshake.</summary>
    public int ActiveConnections => _listener.ActiveConnections;

    internal PgProxyOptions Options { get; }

    /// <summary>The enforcement services; null when sessions are relayed without inspection.</summary>
    internal WireEnforcement? Enforcement { get; }

    internal IIdentityValidator IdentityValidator { get; }

    internal ILogger Logger { get; }

    internal SslStreamCertificateContext? CertificateContext { get; }

    internal PgCancelRegistry CancelRegistry { get; } = new();

    /// <summary>Counts connections against <c>limits.maxConnections</c> and <c>maxConnectionsPerIdentity</c>.</summary>
    internal ConnectionGate Gate { get; }

    /// <summary>Starts accepting clients.</summary>
    public void Start() => _listener.Start();

    /// <summary>Stops accepting, lets sessions finish until <paramref name="drainToken"/> is cancelled, then ends the rest (57P01).</summary>
    public Task StopAsync(CancellationToken drainToken) => _listener.StopAsync(drainToken);

    /// <summary>Stops at once, ending every session.</summary>
    public async ValueTask DisposeAsync()
    {
        await _listener.DisposeAsync().ConfigureAwait(false);
        foreach (var catalog in _catalogs.Values)
        {
            if (catalog.IsValueCreated)
            {
                catalog.Value.Dispose();
            }
        }
    }

    internal PgTargetOptions? FindTarget(string name) => _targets.GetValueOrDefault(name);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Enforcement.PgCatalog>> _catalogs = new(StringComparer.Ordinal);

    /// <summary>The catalog cache of a target (one connection of Wire's own per target, opened on first use).</summary>
    internal Enforcement.PgCatalog CatalogFor(PgTargetOptions target) =>
        _catalogs.GetOrAdd(target.Name, _ => new Lazy<Enforcement.PgCatalog>(
            () => new Enforcement.PgCatalog(target, Options.Limits, Logger, Enforcement?.Time ?? TimeProvider.System))).Value;

    /// <summary>
    /// Carries out a PostgreSQL cancel request for one of this server's sessions: a statement waiting for review is refused
    /// (57014), one running on the server is cancelled there. False when no session of this server has that key.
    /// </summary>
    /// <param name="processId">The process id Wire gave the session's client (BackendKeyData).</param>
    /// <param name="secretKey">The secret key Wire gave it.</param>
    /// <param name="cancellationToken">Stops delivering the cancel request to the server.</param>
    public async Task<bool> CancelAsync(int processId, int secretKey, CancellationToken cancellationToken = default)
    {
        if (!CancelRegistry.TryResolve(processId, secretKey, out var upstream, out int upstreamProcessId, out int upstreamSecret))
        {
            return false;
        }
        if (CancelRegistry.TryCancelLocally(processId))
        {
            // The statement was still waiting for review at Wire: the review is cancelled, the server ran nothing.
            return true;
        }
        await SendCancelRequestAsync(upstream, upstreamProcessId, upstreamSecret, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Sends a CancelRequest for a backend of <paramref name="upstream"/>; false (logged) when it could not be delivered.</summary>
    internal async Task<bool> SendCancelRequestAsync(IPEndPoint upstream, int upstreamProcessId, int upstreamSecret, CancellationToken ct)
    {
        using var socket = new Socket(upstream.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(upstream, ct).ConfigureAwait(false);
            byte[] packet = new byte[16];
            BinaryPrimitives.WriteInt32BigEndian(packet, 16);
            BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(4), PgStartupCode.CancelRequest);
            BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(8), upstreamProcessId);
            BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(12), upstreamSecret);
            await socket.SendAsync(packet, SocketFlags.None, ct).ConfigureAwait(false);

            // The server closes without answering once it has read the request.
            await socket.ReceiveAsync(new byte[1], SocketFlags.None, ct).ConfigureAwait(false);
            PgProxySession.Log.CancelDelivered(Logger, upstream);
            return true;
        }
        catch (SocketException ex)
        {
            PgProxySession.Log.UpstreamFailed(Logger, 0, upstream.ToString(), "cancel request could not be delivered: " + ex.Message, ex);
            return false;
        }
    }

    /// <summary>
    /// Called with a cancel request that names no session of this server; behind a load balancer it may belong to another
    /// gateway instance, which this hands it to (shared state). Null: such requests are logged and dropped.
    /// </summary>
    public Func<int, int, CancellationToken, Task>? CancelElsewhere { get; set; }

    /// <summary>
    /// Runs one session over connections the host owns, without the listener (which need not be started): the client's
    /// handshake, token and rules as on a socket, then Wire logs in to the target over <paramref name="upstream"/> with the
    /// target's credential. Returns when the session ended; both pipes are then completed. Cancel requests and catalog
    /// lookups still reach the target at its configured address.
    /// </summary>
    /// <param name="client">The client's connection, from its first byte (SSLRequest or startup message).</param>
    /// <param name="upstream">A connection to the PostgreSQL server of the target the client names, not yet logged in.</param>
    /// <param name="clientEndPoint">The client's address, for logs, recordings and the loopback exemption from TLS; null when
    /// there is none (such a client must use TLS unless <see cref="PgProxyOptions.AllowCleartextWithoutTls"/> is set).</param>
    /// <param name="cancellationToken">Ends the session (57P01) when cancelled.</param>
    public Task RunAsync(IDuplexPipe client, IDuplexPipe upstream, IPEndPoint? clientEndPoint = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(upstream);
        var session = new PgProxySession(this, WirePipes.FromPipe(client), clientEndPoint, clientSocket: null, upstream,
            Interlocked.Increment(ref _nextSessionId));
        return session.RunAsync(cancellationToken);
    }

    private Task RunSessionAsync(Socket socket, IPEndPoint? client, CancellationToken ct)
    {
        socket.NoDelay = true;
        var session = new PgProxySession(this, socket, client, Interlocked.Increment(ref _nextSessionId));
        return session.RunAsync(ct);
    }
}
