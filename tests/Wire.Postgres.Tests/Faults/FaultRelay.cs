using System.Net;
using System.Net.Sockets;

namespace Wire.Postgres.Tests.Faults;

/// <summary>
/// A TCP relay on 127.0.0.1:0 in front of a target port whose connections the test can cut with a reset (a crashed host
/// or a dropped NAT entry, as the peer on either side sees it).
/// </summary>
internal sealed class FaultRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _sockets = [];
    private readonly List<Task> _pumps = [];
    private readonly Task _acceptLoop;

    public FaultRelay(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections accepted so far.</summary>
    public int Connections { get; private set; }

    private long _bytesFromTarget;

    /// <summary>Bytes the target sent that the relay has passed on to the client side (all connections).</summary>
    public long BytesFromTarget => Interlocked.Read(ref _bytesFromTarget);

    /// <summary>Resets every connection on both sides (SO_LINGER 0, then close); returns how many sockets it reset.</summary>
    public int ResetAll()
    {
        lock (_sockets)
        {
            int count = _sockets.Count;
            foreach (var socket in _sockets)
            {
                try
                {
                    socket.LingerState = new LingerOption(true, 0);
                    socket.Close();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    // Already gone.
                }
            }
            _sockets.Clear();
            return count;
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var target = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await target.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException)
            {
                client.Dispose();
                target.Dispose();
                continue;
            }

            lock (_sockets)
            {
                _sockets.Add(client);
                _sockets.Add(target);
                Connections++;
                _pumps.Add(PumpAsync(client, target, fromTarget: false));
                _pumps.Add(PumpAsync(target, client, fromTarget: true));
            }
        }
    }

    private async Task PumpAsync(Socket from, Socket to, bool fromTarget)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, _stop.Token);
                if (n == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }
                await to.SendAsync(buffer.AsMemory(0, n), _stop.Token);
                if (fromTarget)
                {
                    Interlocked.Add(ref _bytesFromTarget, n);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Reset by the test or by a peer: the pump ends with its connection.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        _ = ResetAll();
        await _acceptLoop;
        Task[] pumps;
        lock (_sockets)
        {
            pumps = [.. _pumps];
        }
        await Task.WhenAll(pumps).WaitAsync(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }
}
