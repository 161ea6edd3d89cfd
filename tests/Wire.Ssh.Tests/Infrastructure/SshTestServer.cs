using System.Net;
using System.Net.Sockets;
using Wire.Enforcement.Transport;
using Wire.Ssh.Authentication;
using Wire.Ssh.Protocol;
using Wire.Ssh.Transport;

namespace Wire.Ssh.Tests.Infrastructure;

/// <summary>
/// Wire's server-role transport on a real socket on 127.0.0.1, answering just enough of user authentication (the
/// service request, then a failure naming publickey) for an OpenSSH client to show it got through the key exchange.
/// </summary>
internal sealed class SshTestServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly SshTransportOptions _options;
    private readonly ISshUserAuthenticator? _authenticator;

    /// <param name="options">The transport's options (host keys).</param>
    /// <param name="authenticator">When given, user authentication runs for real; channels are then refused.</param>
    public SshTestServer(SshTransportOptions options, ISshUserAuthenticator? authenticator = null)
    {
        _options = options;
        _authenticator = authenticator;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>What the sessions ended with (one entry per connection).</summary>
    public List<string> Outcomes { get; } = [];

    /// <summary>Who authenticated (with an authenticator), one entry per connection that did.</summary>
    public List<SshUserAuthServer.Result> Authenticated { get; } = [];

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            _ = ServeAsync(socket);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using var pipe = WirePipes.FromSocket(socket, "ssh-test");
        var transport = new SshTransport(pipe.Pipe, _options, isServer: true);
        string outcome;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            await transport.HandshakeAsync(timeout.Token);
            if (_authenticator is not null)
            {
                var result = await new SshUserAuthServer(transport, _authenticator).RunAsync(timeout.Token);
                lock (Authenticated)
                {
                    Authenticated.Add(result);
                }
            }
            while (true)
            {
                var message = await transport.ReceiveAsync(timeout.Token);
                using var writer = new SshWriter();
                switch (message.Span[0])
                {
                    case SshMessage.ServiceRequest:
                        var request = new SshReader(message.Span[1..]).ReadAscii();
                        writer.Byte(SshMessage.ServiceAccept).String(request);
                        break;
                    case SshMessage.UserAuthRequest:
                        writer.Byte(SshMessage.UserAuthFailure).NameList(["publickey"]).Boolean(false);
                        break;
                    case SshMessage.ChannelOpen:
                    {
                        var open = new SshReader(message.Span[1..]);
                        open.ReadString();
                        uint sender = open.ReadUInt32();
                        writer.Byte(SshMessage.ChannelOpenFailure).UInt32(sender).UInt32(1).String("no channels in this test").String("");
                        break;
                    }
                    case SshMessage.GlobalRequest:
                        writer.Byte(SshMessage.RequestFailure);
                        break;
                    default:
                        writer.Byte(SshMessage.Unimplemented).UInt32(transport.LastReceivedSequence);
                        break;
                }
                await transport.SendAsync(writer.ToArray(), timeout.Token);
            }
        }
        catch (SshDisconnectedException e)
        {
            outcome = "disconnected: " + e.Message;
        }
        catch (Exception e)
        {
            outcome = e.GetType().Name + ": " + e.Message;
        }
        finally
        {
            await transport.DisposeAsync();
        }
        lock (Outcomes)
        {
            Outcomes.Add(outcome);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
