using System.IO.Pipelines;
using System.Net.Sockets;
using Pipelines.Sockets.Unofficial;

namespace Wire.Enforcement.Transport;

/// <summary>
/// Turns an established connection (a socket, or a TLS stream over one) into an
/// <see cref="IDuplexPipe"/> for a session pump, with Wire's buffer thresholds.
/// </summary>
public static class WirePipes
{
    /// <summary>
    /// Unread bytes at which a receive pipe stops reading from the network (back-pressure). A pump
    /// that needs a whole frame before it can decide must never wait for more than this.
    /// </summary>
    public const long PauseThreshold = 1L << 20;

    /// <summary>Unread bytes below which a paused receive pipe resumes.</summary>
    public const long ResumeThreshold = PauseThreshold / 2;

    private static readonly PipeOptions Options = new(
        pauseWriterThreshold: PauseThreshold,
        resumeWriterThreshold: ResumeThreshold,
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        minimumSegmentSize: 16 * 1024,
        useSynchronizationContext: false);

    /// <summary>Wraps a connected plain socket; disposing the result closes the socket.</summary>
    public static WirePipe FromSocket(Socket socket, string name)
    {
        SocketConnection.SetRecommendedServerOptions(socket);
        var connection = SocketConnection.Create(socket, Options, Options, SocketConnectionOptions.InlineReads | SocketConnectionOptions.InlineWrites, name);
        return new WirePipe(connection, connection);
    }

    /// <summary>Wraps a stream (typically an authenticated SslStream); disposing the result disposes the stream.</summary>
    public static WirePipe FromStream(Stream stream, string name)
    {
        var duplex = StreamConnection.GetDuplex(stream, Options, Options, name);
        return new WirePipe(duplex, stream);
    }
}

/// <summary>A duplex pipe over a connection and the resource that closes the connection.</summary>
/// <param name="Pipe">The pipe pair: <c>Input</c> reads from the peer, <c>Output</c> writes to it.</param>
/// <param name="Owner">Disposed to close the connection.</param>
public sealed record WirePipe(IDuplexPipe Pipe, IDisposable Owner) : IDisposable
{
    /// <summary>Closes the connection.</summary>
    public void Dispose() => Owner.Dispose();
}
