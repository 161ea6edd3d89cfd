using System.Net;
using System.Net.Sockets;

namespace Wire.Postgres.Tests.Faults;

/// <summary>
/// A target that stalls: either it accepts connections and never says a word (a hung server), or its accept queue is
/// full so that connection attempts get no answer at all (SYNs dropped, as behind a black-holing firewall).
/// </summary>
internal sealed class StalledTarget : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly List<Socket> _held = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop = Task.CompletedTask;

    private StalledTarget(bool accept)
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        if (accept)
        {
            _listener.Listen(16);
            _acceptLoop = AcceptLoopAsync();
            return;
        }

        // Linux drops SYNs while the accept queue is over its backlog: one queued connection fills a backlog of 0.
        _listener.Listen(0);
        var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        filler.Connect(IPAddress.Loopback, Port);
        _held.Add(filler);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

    /// <summary>Connections accepted (and then left without an answer).</summary>
    public int Accepted
    {
        get
        {
            lock (_held)
            {
                return _held.Count;
            }
        }
    }

    /// <summary>Accepts and never answers.</summary>
    public static StalledTarget Silent() => new(accept: true);

    /// <summary>Never completes a TCP handshake.</summary>
    public static StalledTarget Unanswered() => new(accept: false);

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            try
            {
                var socket = await _listener.AcceptAsync(_stop.Token);
                lock (_held)
                {
                    _held.Add(socket);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        _acceptLoop.Wait(TimeSpan.FromSeconds(5));
        lock (_held)
        {
            foreach (var socket in _held)
            {
                socket.Dispose();
            }
        }
        _stop.Dispose();
    }
}
