using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Wire.Enforcement;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Transport;

namespace Wire.Http.Proxy;

/// <summary>
/// An HTTP/1.1 listener: authenticates each request's bearer token, routes it to a target by Host or path prefix,
/// and forwards it with the target's credential instead of the client's token.
/// </summary>
public sealed class HttpProxyServer : IAsyncDisposable
{
    private readonly WireListener _listener;
    private readonly HttpUpstreamPool[] _pools;
    private long _nextSessionId;

    /// <summary>Creates the server; call <see cref="Start"/> to accept connections.</summary>
    /// <param name="options">Listener, TLS, limits and targets.</param>
    /// <param name="identityValidator">Turns a request's bearer token into an identity.</param>
    /// <param name="loggerFactory">Where sessions log; null for none.</param>
    /// <param name="enforcement">Rules and approvals that judge each request; null forwards every authenticated request.</param>
    /// <exception cref="ArgumentException">The options are inconsistent (no targets, a repeated name, a bad URL).</exception>
    public HttpProxyServer(HttpProxyOptions options, IIdentityValidator identityValidator, ILoggerFactory? loggerFactory = null,
        WireEnforcement? enforcement = null)
    {
        Enforcement = enforcement;
        Options = options ?? throw new ArgumentNullException(nameof(options));
        IdentityValidator = identityValidator ?? throw new ArgumentNullException(nameof(identityValidator));
        Logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Wire.Http");
        options.Limits.Validate();
        if (options.Targets.Count == 0)
        {
            throw new ArgumentException("At least one target is required.", nameof(options));
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var target in options.Targets)
        {
            if (!names.Add(target.Name))
            {
                throw new ArgumentException($"Target name \"{target.Name}\" is used twice.", nameof(options));
            }
            if (!target.Url.IsAbsoluteUri || target.Url.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(target.Url.Query))
            {
                throw new ArgumentException($"Target \"{target.Name}\": the URL must be http:// or https:// without a query.", nameof(options));
            }
        }
        WirePipes.ValidateBufferBytes(options.BufferBytes, "http.limits.bufferBytes");
        Router = new HttpRouter(options.Targets);
        _pools = [.. options.Targets.Select(t => new HttpUpstreamPool(t, options.ConnectTimeout, options.MaxIdleUpstreamConnections, options.BufferBytes))];
        if (options.ServerCertificate is not null)
        {
            CertificateContext = SslStreamCertificateContext.Create(options.ServerCertificate, additionalCertificates: null);
        }
        Gate = new ConnectionGate(options.Connections, "http");
        _listener = new WireListener(options.Listen, RunSessionAsync, Logger, "http", options.ProxyProtocol);
    }

    /// <summary>The bound address (useful when listening on port 0).</summary>
    public IPEndPoint LocalEndPoint => _listener.LocalEndPoint;

    /// <summary>Connections currently open.</summary>
    public int ActiveConnections => _listener.ActiveConnections;

    internal HttpProxyOptions Options { get; }

    /// <summary>Counts connections against <c>limits.maxConnections</c> and <c>maxConnectionsPerIdentity</c>.</summary>
    internal ConnectionGate Gate { get; }

    internal IIdentityValidator IdentityValidator { get; }

    /// <summary>Rules and approvals; null when requests are forwarded without judging.</summary>
    internal WireEnforcement? Enforcement { get; }

    internal ILogger Logger { get; }

    internal SslStreamCertificateContext? CertificateContext { get; }

    internal HttpRouter Router { get; }

    internal HttpUpstreamPool PoolOf(int targetIndex) => _pools[targetIndex];

    /// <summary>Starts accepting clients.</summary>
    public void Start() => _listener.Start();

    /// <summary>Stops accepting, lets exchanges in flight finish until <paramref name="drainToken"/> is cancelled, then closes the rest.</summary>
    public Task StopAsync(CancellationToken drainToken) => _listener.StopAsync(drainToken);

    /// <summary>Stops at once, closing every connection.</summary>
    public async ValueTask DisposeAsync()
    {
        await _listener.DisposeAsync().ConfigureAwait(false);
        foreach (var pool in _pools)
        {
            pool.Dispose();
        }
    }

    /// <summary>
    /// Runs one client connection over connections the host owns, without the listener (which need not be started): each
    /// request is authenticated, routed, judged, masked and recorded as on a socket, and forwarded with the target's
    /// credential over <paramref name="upstream"/>. A request that routes to another target is answered 421 (its credential
    /// never goes over the host's connection); after the target closes that connection, requests are answered 502 and the
    /// client connection closes. Returns when the client connection ended; both pipes are then completed.
    /// </summary>
    /// <param name="client">The client's connection, from its first request byte (TLS, if any, already terminated by the host).</param>
    /// <param name="upstream">A connection to target <paramref name="target"/>'s server (TLS to it, if any, is the host's).</param>
    /// <param name="target">The name of the target <paramref name="upstream"/> reaches.</param>
    /// <param name="clientEndPoint">The client's address, for logs, recordings and X-Forwarded-For; null when there is none.</param>
    /// <param name="cancellationToken">Ends the session when cancelled.</param>
    /// <exception cref="ArgumentException"><paramref name="target"/> names no target of the options.</exception>
    public Task RunAsync(IDuplexPipe client, IDuplexPipe upstream, string target, IPEndPoint? clientEndPoint = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(upstream);
        ArgumentNullException.ThrowIfNull(target);
        int index = Options.Targets.Select(t => t.Name).ToList().IndexOf(target);
        if (index < 0)
        {
            throw new ArgumentException($"No target is named \"{target}\".", nameof(target));
        }
        var session = new HttpProxySession(this, WirePipes.FromPipe(client), clientEndPoint, WirePipes.FromPipe(upstream), index,
            Interlocked.Increment(ref _nextSessionId));
        return session.RunAsync(cancellationToken);
    }

    private Task RunSessionAsync(Socket socket, IPEndPoint? client, CancellationToken ct)
    {
        socket.NoDelay = true;
        var session = new HttpProxySession(this, socket, client, Interlocked.Increment(ref _nextSessionId));
        return session.RunAsync(ct);
    }
}
