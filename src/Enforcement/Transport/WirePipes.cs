using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net.Sockets;
using Pipelines.Sockets.Unofficial;

namespace Wire.Enforcement.Transport;

/// <summary>
/// Turns an established connection (a socket, or a TLS stream over one) into an
/// <see cref="IDuplexPipe"/> for a session pump, with Wire's buffer thresholds.
/// </summary>
internal static class WirePipes
{
    /// <summary>
    /// The default of the unread bytes at which a pipe stops taking more (config <c>limits.bufferBytes</c>): a receive pipe
    /// stops reading from the network, a send pipe makes its writer wait (back-pressure). A session holds at most about
    /// this much per pipe, whatever its peers do. A pump that needs a whole message larger than this to decide copies it
    /// out rather than waiting for the pipe. 1 MiB.
    /// </summary>
    public const long DefaultBufferBytes = 1L << 20;

    /// <summary>The smallest buffer a listener may configure: 64 KiB.</summary>
    public const long MinBufferBytes = 64L << 10;

    /// <summary>The largest buffer a listener may configure: 256 MiB.</summary>
    public const long MaxBufferBytes = 256L << 20;

    private static readonly PipeOptions Options = Create(DefaultBufferBytes);
    private static readonly ConcurrentDictionary<long, PipeOptions> Configured = new();

    private static PipeOptions Create(long bufferBytes) => new(
        pauseWriterThreshold: bufferBytes,
        resumeWriterThreshold: bufferBytes / 2, // resume at half: a paused pipe wakes with room for a good batch
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        minimumSegmentSize: 16 * 1024,
        useSynchronizationContext: false);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming <paramref name="setting"/> unless <paramref name="bufferBytes"/> is in range.</summary>
    /// <param name="bufferBytes">The configured value.</param>
    /// <param name="setting">The setting's name, for the message.</param>
    public static void ValidateBufferBytes(long bufferBytes, string setting)
    {
        if (bufferBytes is < MinBufferBytes or > MaxBufferBytes)
        {
            throw new ArgumentOutOfRangeException(setting, bufferBytes, $"{setting} must be from {MinBufferBytes} to {MaxBufferBytes} bytes");
        }
    }

    /// <summary>The pipe options for <paramref name="bufferBytes"/> (one instance per value, shared by every connection).</summary>
    private static PipeOptions OptionsFor(long bufferBytes)
    {
        if (bufferBytes == DefaultBufferBytes)
        {
            return Options;
        }
        ValidateBufferBytes(bufferBytes, nameof(bufferBytes));
        return Configured.GetOrAdd(bufferBytes, Create);
    }

    /// <summary>
    /// Wraps a connected plain socket; disposing the result closes the socket. On Linux the socket is
    /// driven by Wire's epoll loop (see <see cref="EpollLoop"/>), elsewhere (or with
    /// <c>WIRE_TRANSPORT=sockets</c>) by Pipelines.Sockets.Unofficial's SocketConnection.
    /// </summary>
    /// <param name="socket">The connected socket.</param>
    /// <param name="name">A name for diagnostics.</param>
    /// <param name="receiveBytes">
    /// The least buffer one receive asks for on the epoll transport: the default suits messages; a leg that carries
    /// bulk bodies (an HTTP upstream) asks for more, so a megabyte takes fewer system calls.
    /// </param>
    /// <param name="near">
    /// A connection this one is relayed with (a session's client, for its upstream): on the epoll transport both are then
    /// served by one loop thread, so relaying between them never changes threads.
    /// </param>
    /// <param name="bufferBytes">The unread bytes at which each direction's pipe pauses (see <see cref="DefaultBufferBytes"/>).</param>
    public static WirePipe FromSocket(Socket socket, string name, int receiveBytes = EpollSocketPipe.DefaultReceiveBytes, WirePipe? near = null,
        long bufferBytes = DefaultBufferBytes)
    {
        var options = OptionsFor(bufferBytes);
        socket.NoDelay = true;
        if ((near?.Pipe is EpollSocketPipe sibling ? sibling.Loop : EpollLoop.Next()) is { } loop)
        {
            var pipe = new EpollSocketPipe(loop, socket, options, receiveBytes);
            return new WirePipe(pipe, pipe);
        }

        SocketConnection.SetRecommendedServerOptions(socket);
        var connection = SocketConnection.Create(socket, options, options, SocketConnectionOptions.InlineReads | SocketConnectionOptions.InlineWrites, name);
        return new WirePipe(connection, connection);
    }

    /// <summary>Wraps a stream (typically an authenticated SslStream); disposing the result disposes the stream.</summary>
    /// <param name="stream">The stream.</param>
    /// <param name="name">A name for diagnostics.</param>
    /// <param name="bufferBytes">The unread bytes at which each direction's pipe pauses (see <see cref="DefaultBufferBytes"/>).</param>
    public static WirePipe FromStream(Stream stream, string name, long bufferBytes = DefaultBufferBytes)
    {
        var options = OptionsFor(bufferBytes);
        var duplex = StreamConnection.GetDuplex(stream, options, options, name);
        return new WirePipe(duplex, stream);
    }

    /// <summary>
    /// A connection a host brought as a pipe (its own transport, an in-memory pipe, a multiplexed stream): read and written
    /// as it is, and completed at both ends when the session ends, which tells the host's transport to close.
    /// </summary>
    /// <param name="pipe">The connection.</param>
    public static WirePipe FromPipe(IDuplexPipe pipe)
    {
        ArgumentNullException.ThrowIfNull(pipe);
        return new WirePipe(pipe, new PipeCompletion(pipe));
    }
}

/// <summary>Ends a pipe a host brought: completes both its ends, which tells the host's transport to close.</summary>
internal sealed class PipeCompletion(IDuplexPipe pipe) : IDisposable
{
    public void Dispose()
    {
        pipe.Input.Complete();
        pipe.Output.Complete();
    }
}

/// <summary>A duplex pipe over a connection and the resource that closes the connection.</summary>
/// <param name="Pipe">The pipe pair: <c>Input</c> reads from the peer, <c>Output</c> writes to it.</param>
/// <param name="Owner">Disposed to close the connection.</param>
internal sealed record WirePipe(IDuplexPipe Pipe, IDisposable Owner) : IDisposable
{
    private Stream? _stream;

    /// <summary>
    /// The pipe as a stream, for handshakes that need one (startup messages, TLS). It buffers nothing
    /// of its own: bytes it does not read stay in the pipe for whoever reads next.
    /// </summary>
    public Stream AsStream() => _stream ??= new DuplexPipeStream(Pipe);

    /// <summary>
    /// Whether bytes from the peer are already waiting (in the pipe or in the socket): used to refuse
    /// data sent between a TLS request and the TLS handshake.
    /// </summary>
    public bool HasPendingInput(Socket? socket)
    {
        if (Pipe.Input.TryRead(out var result))
        {
            bool pending = !result.Buffer.IsEmpty;
            Pipe.Input.AdvanceTo(result.Buffer.Start);
            if (pending)
            {
                return true;
            }
        }

        return socket is not null && socket.Available > 0;
    }

    /// <summary>
    /// Lets the reader of <see cref="IDuplexPipe.Input"/> run on the thread that received the data, once
    /// the connection carries only short per-message work (a plain relay). Until then, on the epoll
    /// transport, readers run on the thread pool so handshakes never stall the loop.
    /// </summary>
    public void RunReaderInline() => (Pipe as EpollSocketPipe)?.RunReaderInline();

    /// <summary>Closes the connection.</summary>
    public void Dispose() => Owner.Dispose();
}
