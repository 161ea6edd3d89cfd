using System.Net;
using System.Net.Sockets;

namespace Wire.Testing;

/// <summary>
/// A TCP relay on 127.0.0.1 between a test's client and a listener (Wire's, or a test server): every byte either way is
/// forwarded unchanged and kept, per connection, so a test can search everything the listener sent its clients
/// (<see cref="ToClient"/>) and everything the clients sent (<see cref="FromClient"/>). Test-side only: the product's hot
/// path is not touched. An optional <c>greeting</c> runs on each accepted connection before relaying starts (a test
/// server that answers PostgreSQL's SSLRequest itself, then relays the TLS handshake).
/// </summary>
internal sealed class TcpTap : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<int, int> _targetPort;
    private readonly Func<NetworkStream, CancellationToken, Task>? _greeting;
    private byte[] _targetPrefix = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Connection> _connections = [];
    private readonly List<Task> _relays = [];
    private readonly Task _accepting;

    private TcpTap(Func<int, int> targetPort, Func<NetworkStream, CancellationToken, Task>? greeting)
    {
        _targetPort = targetPort;
        _greeting = greeting;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The port clients connect to instead of <c>targetPort</c>.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Starts a tap in front of 127.0.0.1:<paramref name="targetPort"/>.</summary>
    public static TcpTap Start(int targetPort, Func<NetworkStream, CancellationToken, Task>? greeting = null) => new(_ => targetPort, greeting);

    /// <summary>
    /// Starts a tap that relays connection N (0, 1, ... in accept order) to 127.0.0.1:<paramref name="targetPortFor"/>(N): a TCP
    /// load balancer in front of several listeners.
    /// </summary>
    public static TcpTap StartRouted(Func<int, int> targetPortFor) => new(targetPortFor, null);

    /// <summary>Starts a tap that sends <paramref name="prefix"/> to the listener before each connection's bytes (a PROXY protocol header).</summary>
    public static TcpTap StartWithPrefix(int targetPort, byte[] prefix) => new(_ => targetPort, null) { _targetPrefix = prefix };

    /// <summary>The connections relayed so far.</summary>
    public int Connections
    {
        get
        {
            lock (_connections)
            {
                return _connections.Count;
            }
        }
    }

    /// <summary>What the listener sent toward the clients, one byte array per connection (in accept order).</summary>
    public IReadOnlyList<byte[]> ToClient => Snapshot(c => c.ToClient);

    /// <summary>What the clients sent toward the listener, one byte array per connection.</summary>
    public IReadOnlyList<byte[]> FromClient => Snapshot(c => c.FromClient);

    /// <summary>Bytes sent toward the clients, all connections together.</summary>
    public long BytesToClient => ToClient.Sum(b => (long)b.Length);

    private List<byte[]> Snapshot(Func<Connection, MemoryStream> side)
    {
        lock (_connections)
        {
            return _connections.Select(c =>
            {
                var stream = side(c);
                lock (stream)
                {
                    return stream.ToArray();
                }
            }).ToList();
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            var connection = new Connection(client);
            lock (_connections)
            {
                _connections.Add(connection);
                _relays.Add(RelayAsync(connection, _targetPort(_connections.Count - 1)));
            }
        }
    }

    private async Task RelayAsync(Connection connection, int targetPort)
    {
        using var client = connection.Client;
        using var target = new TcpClient();
        try
        {
            client.NoDelay = true;
            target.NoDelay = true;
            var clientStream = client.GetStream();
            if (_greeting is not null)
            {
                await _greeting(clientStream, _stop.Token);
            }
            await target.ConnectAsync(IPAddress.Loopback, targetPort, _stop.Token);
            var targetStream = target.GetStream();
            await targetStream.WriteAsync(_targetPrefix, _stop.Token);
            var up = CopyAsync(clientStream, targetStream, target.Client, connection.FromClient);
            var down = CopyAsync(targetStream, clientStream, client.Client, connection.ToClient);
            await Task.WhenAll(up, down);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // One side went away: the relay of this connection ends, what was seen is kept.
        }
    }

    /// <summary>Copies until the source ends, keeping every byte; then half-closes the destination (the other way goes on).</summary>
    private async Task CopyAsync(NetworkStream from, NetworkStream to, Socket toSocket, MemoryStream kept)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int n;
            while ((n = await from.ReadAsync(buffer, _stop.Token)) > 0)
            {
                lock (kept)
                {
                    kept.Write(buffer, 0, n);
                }
                await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
            }
            toSocket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // A reset, or the tap stopping: the other direction notices on its own.
            try
            {
                toSocket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception inner) when (inner is SocketException or ObjectDisposedException)
            {
                // already closed
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Task[] relays;
        lock (_connections)
        {
            relays = [.. _relays];
        }
        await Task.WhenAll(relays).WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }

    private sealed class Connection(TcpClient client)
    {
        public TcpClient Client { get; } = client;

        public MemoryStream ToClient { get; } = new();

        public MemoryStream FromClient { get; } = new();
    }
}
