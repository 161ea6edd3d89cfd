using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Wire.Postgres.Proxy;

namespace Wire.Sample.Host;

/// <summary>
/// A host that owns the transport: it accepts clients and connects to the server itself (here plain sockets; equally a
/// Kestrel connection, a tunnel or an in-memory pipe) and lets Wire run each session over the two pipes.
/// </summary>
public static class OwnTransport
{
    /// <summary>Serves clients accepted on <paramref name="listener"/> through <paramref name="wire"/> until cancelled.</summary>
    public static async Task ServeAsync(PgProxyServer wire, TcpListener listener, string serverHost, int serverPort, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            Socket client = await listener.AcceptSocketAsync(ct);
            _ = Task.Run(async () =>
            {
                using (client)
                using (var server = new TcpClient())
                {
                    await server.ConnectAsync(serverHost, serverPort, ct);
                    // Wire reads the client's startup, checks its token, logs in over `server` with the target's
                    // credential, then relays with the rules applied. Both pipes are completed when the session ends.
                    await wire.RunAsync(Pipe(new NetworkStream(client)), Pipe(server.GetStream()),
                        client.RemoteEndPoint as IPEndPoint, ct);
                }
            }, ct);
        }
    }

    private static IDuplexPipe Pipe(Stream stream) => new StreamPipe(PipeReader.Create(stream), PipeWriter.Create(stream));

    private sealed record StreamPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
