using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Wire.Enforcement.Transport;

/// <summary>
/// Accepts TCP connections and runs one handler task per connection, tracking them so that a stop can
/// drain (wait) and then abort what is left. No thread per connection: handlers are async.
/// </summary>
internal sealed partial class WireListener : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly Func<Socket, IPEndPoint?, CancellationToken, Task> _handler;
    private readonly bool _proxyProtocol;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Dictionary<int, Task> _connections = new();
    private readonly object _gate = new();
    private Task? _acceptLoop;
    private readonly string? _protocol;
    private int _nextId;
    private bool _closed;
    private Task? _stopTask;

    /// <summary>
    /// Binds <paramref name="endPoint"/> and prepares to run <paramref name="handler"/> per accepted socket, with the client's
    /// address: the socket's peer, or with <paramref name="proxyProtocol"/> the one the load balancer's PROXY protocol header
    /// declares (a connection without a valid header is closed).
    /// </summary>
    /// <param name="endPoint">Where to listen; port 0 picks a free port (see <see cref="LocalEndPoint"/>).</param>
    /// <param name="handler">Runs one connection with its client's address; owns the socket; its token is cancelled when the
    /// listener aborts.</param>
    /// <param name="logger">Where accept errors are logged.</param>
    /// <param name="protocol">What the connections speak (<c>postgres</c>, <c>ssh</c>, <c>http</c>), for telemetry.</param>
    /// <param name="proxyProtocol">Whether every connection starts with a PROXY protocol header (version 1 or 2).</param>
    public WireListener(IPEndPoint endPoint, Func<Socket, IPEndPoint?, CancellationToken, Task> handler, ILogger logger, string? protocol = null,
        bool proxyProtocol = false)
    {
        _protocol = protocol is null ? null : Policy.WireProtocolNames.TelemetryName(protocol);
        ArgumentNullException.ThrowIfNull(endPoint);
        _handler = handler ?? throw new ArgumentNullException(nameof(handler));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _proxyProtocol = proxyProtocol;
        _socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _socket.Bind(endPoint);
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
    }

    /// <summary>How long a load balancer has to send the PROXY protocol header of a connection.</summary>
    public static TimeSpan ProxyHeaderTimeout { get; } = TimeSpan.FromSeconds(10);

    /// <summary>The bound address.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Connections currently running.</summary>
    public int ActiveConnections
    {
        get
        {
            lock (_gate)
            {
                return _connections.Count;
            }
        }
    }

    /// <summary>Starts listening and accepting.</summary>
    public void Start()
    {
        _socket.Listen(512);
        _acceptLoop = AcceptLoopAsync();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException) when (Volatile.Read(ref _closed))
            {
                return;
            }
            catch (SocketException ex)
            {
                // Transient (the peer reset before accept, or descriptors ran out): log and go on.
                Log.AcceptFailed(_logger, ex.SocketErrorCode, ex);
                await Task.Delay(10).ConfigureAwait(false);
                continue;
            }

            int id = Interlocked.Increment(ref _nextId);
            var task = RunConnectionAsync(id, client);
            lock (_gate)
            {
                if (!task.IsCompleted)
                {
                    _connections[id] = task;
                }
            }
        }
    }

    private async Task RunConnectionAsync(int id, Socket client)
    {
        await Task.Yield(); // never run a handler on the accept loop
        try
        {
            var remote = client.RemoteEndPoint as IPEndPoint;
            if (_proxyProtocol)
            {
                try
                {
                    remote = await ProxyProtocol.ReadAsync(client, ProxyHeaderTimeout, _stopping.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is ProtocolViolationException or TimeoutException or SocketException or OperationCanceledException)
                {
                    Log.ProxyHeaderRefused(_logger, remote?.ToString() ?? "?", ex.Message);
                    return;
                }
            }
            await RunHandlerAsync(client, remote).ConfigureAwait(false);
        }
        finally
        {
            client.Dispose();
            lock (_gate)
            {
                _connections.Remove(id);
            }
        }
    }

    private async Task RunHandlerAsync(Socket client, IPEndPoint? remote)
    {
        // One activity per connection (null, and free, when nothing listens): the session's executions are its children.
        // OpenTelemetry's names: the client's endpoint is client.*, Wire's own (the server of this span) server.*.
        using var activity = Diagnostics.WireDiagnostics.ActivitySource.StartActivity("wire.session", System.Diagnostics.ActivityKind.Server);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("network.protocol.name", _protocol);
            if (remote is not null)
            {
                activity.SetTag("client.address", remote.Address.ToString());
                activity.SetTag("client.port", remote.Port);
            }
            if (client.LocalEndPoint is IPEndPoint local)
            {
                activity.SetTag("server.address", local.Address.ToString());
                activity.SetTag("server.port", local.Port);
            }
        }
        try
        {
            await _handler(client, remote, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Handlers report their own errors; anything reaching here is a bug, never a host crash.
            Log.HandlerFailed(_logger, ex);
        }
    }

    /// <summary>
    /// Stops accepting, waits for running connections until <paramref name="drainToken"/> is
    /// cancelled, then aborts the rest (their handler tokens are cancelled) and waits for them to end.
    /// </summary>
    public Task StopAsync(CancellationToken drainToken)
    {
        lock (_gate)
        {
            return _stopTask ??= StopCoreAsync(drainToken);
        }
    }

    private async Task StopCoreAsync(CancellationToken drainToken)
    {
        Volatile.Write(ref _closed, true);
        _socket.Close();
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }

        Task[] running;
        lock (_gate)
        {
            running = [.. _connections.Values];
        }

        try
        {
            await Task.WhenAll(running).WaitAsync(drainToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await AbortConnectionsAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                Log.AbortTimedOut(_logger, running.Count(t => !t.IsCompleted));
            }
        }
        finally
        {
            await AbortConnectionsAsync().ConfigureAwait(false);
        }
    }

    private async Task AbortConnectionsAsync()
    {
        try
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }
        catch (AggregateException ex)
        {
            // A handler's cancellation callback threw: the connection is ending anyway; the stop goes on.
            Log.HandlerFailed(_logger, ex);
        }
    }

    /// <summary>Stops immediately, aborting running connections.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(new CancellationToken(canceled: true)).ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(1001, LogLevel.Warning, "Accept failed ({ErrorCode})")]
        public static partial void AcceptFailed(ILogger logger, SocketError errorCode, Exception exception);

        [LoggerMessage(1003, LogLevel.Warning, "{Count} connections did not end within 10 s of being aborted")]
        public static partial void AbortTimedOut(ILogger logger, int count);

        [LoggerMessage(1004, LogLevel.Warning, "Connection from {Peer} refused: {Reason} (the listener expects the PROXY protocol)")]
        public static partial void ProxyHeaderRefused(ILogger logger, string peer, string reason);

        [LoggerMessage(1002, LogLevel.Error, "A connection handler failed unexpectedly")]
        public static partial void HandlerFailed(ILogger logger, Exception exception);
    }
}
