using System.Net;
using System.Net.Sockets;

namespace Wire.Postgres.Tests.Proxy;

/// <summary>
/// A tiny TCP relay on 127.0.0.1:0 that forwards to a target port and records every byte the target
/// sends back to clients.
/// </summary>
internal sealed class RecordingRelay : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly MemoryStream _toClient = new();
    private readonly List<Socket> _sockets = [];
    private readonly List<Task> _connections = [];
    private readonly Task _acceptLoop;
    private int _disposed;

    private RecordingRelay(int targetPort)
    {
        _targetPort = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public static RecordingRelay Start(int targetPort) => new(targetPort);

    /// <summary>Everything the target has sent toward clients so far, over all connections.</summary>
    public byte[] BytesToClient()
    {
        lock (_toClient)
        {
            return _toClient.ToArray();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync();
        _listener.Stop();
        lock (_sockets)
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }
        }

        try
        {
            await _acceptLoop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        Task[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }

        await Task.WhenAll(connections).WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptSocketAsync(_stop.Token);
            lock (_connections)
            {
                _connections.Add(RelayAsync(client));
            }
        }
    }

    private async Task RelayAsync(Socket client)
    {
        var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        lock (_sockets)
        {
            _sockets.Add(client);
            _sockets.Add(upstream);
        }

        try
        {
            await upstream.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
            var up = CopyAsync(client, upstream, record: false);
            var down = CopyAsync(upstream, client, record: true);
            await Task.WhenAll(up, down);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            client.Dispose();
            upstream.Dispose();
        }
    }

    private async Task CopyAsync(Socket from, Socket to, bool record)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (n == 0)
                {
                    break;
                }

                if (record)
                {
                    lock (_toClient)
                    {
                        _toClient.Write(buffer, 0, n);
                    }
                }

                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, _stop.Token);
            }

            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // One side is gone: take the other down too.
            from.Dispose();
            to.Dispose();
        }
    }
}
