using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using static Wire.Enforcement.Transport.EpollInterop;

namespace Wire.Enforcement.Transport;

/// <summary>
/// A connected socket as a duplex pipe, driven by an <see cref="EpollLoop"/>: bytes received are
/// written to <see cref="Input"/> on the loop thread (so the session's pump runs there, inline), and
/// bytes written to <see cref="Output"/> are sent by whoever flushes them, waiting for EPOLLOUT only
/// when the socket's send buffer is full. Back-pressure: while the input pipe is paused the socket is
/// not read, so the peer's TCP window closes.
/// </summary>
internal sealed class EpollSocketPipe : IDuplexPipe, IDirectSender, IDisposable
{
    private readonly EpollLoop _loop;
    private readonly Socket _socket;
    private readonly int _fd;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private readonly Lock _gate = new();
    private readonly ulong _id;
    private readonly Action _resumeReading;
    private uint _interest;
    private bool _disposed;
    private bool _readDone;
    private bool _unregistered;
    private TaskCompletionSource? _writable;
    private ValueTask<FlushResult> _pendingFlush;
    private readonly CountingWriter _writer;
    private readonly SwitchablePipeScheduler _readerScheduler = new();
    private long _queued; // bytes written to Output and not yet sent

    public EpollSocketPipe(EpollLoop loop, Socket socket, PipeOptions options, int receiveBytes = DefaultReceiveBytes)
    {
        _receiveBytes = receiveBytes;
        _loop = loop;
        _socket = socket;
        socket.Blocking = false;
        _fd = (int)socket.Handle;
        _input = new Pipe(new PipeOptions(
            options.Pool,
            readerScheduler: _readerScheduler,
            writerScheduler: PipeScheduler.Inline,
            options.PauseWriterThreshold,
            options.ResumeWriterThreshold,
            options.MinimumSegmentSize,
            useSynchronizationContext: false));
        _output = new Pipe(options);
        _writer = new CountingWriter(this, _output.Writer);
        _resumeReading = ResumeReading;
        _interest = EpollIn | EpollRdHup;
        _id = loop.Register(this, _fd, _interest);
        _ = SendLoopAsync();
    }

    public PipeReader Input => _input.Reader;

    /// <summary>The loop serving this connection.</summary>
    public EpollLoop Loop => _loop;

    /// <summary>Runs the reader of <see cref="Input"/> inline on the loop from now on (see <see cref="SwitchablePipeScheduler"/>).</summary>
    public void RunReaderInline() => _readerScheduler.RunInline();

    public PipeWriter Output => _writer;

    /// <summary>
    /// Sends what the socket takes right now straight from <paramref name="data"/> (no copy into the
    /// output pipe), unless bytes queued earlier must go first. Returns the number of bytes sent; the
    /// caller queues the rest through <see cref="Output"/>.
    /// </summary>
    public unsafe long TrySendDirect(in ReadOnlySequence<byte> data)
    {
        long total = 0;
        lock (_gate)
        {
            if (_disposed || Volatile.Read(ref _queued) != 0)
            {
                return 0;
            }

            foreach (var segment in data)
            {
                fixed (byte* p = segment.Span)
                {
                    nint n = send(_fd, p, segment.Length, MsgNoSignal);
                    if (n <= 0)
                    {
                        return total; // EAGAIN or an error: the queued path waits or reports it
                    }

                    total += n;
                    if (n < segment.Length)
                    {
                        return total;
                    }
                }
            }
        }

        return total;
    }

    /// <summary>Called on the loop thread with the ready events.</summary>
    public void OnEvents(uint events)
    {
        if ((events & (EpollOut | EpollErr | EpollHup)) != 0)
        {
            TaskCompletionSource? writable;
            lock (_gate)
            {
                writable = _writable;
                _writable = null;
                if (writable is not null)
                {
                    SetInterest(_interest & ~EpollOut);
                }
            }

            writable?.TrySetResult();
        }

        if ((events & (EpollErr | EpollHup)) == 0)
        {
            if ((events & (EpollIn | EpollRdHup)) != 0)
            {
                Receive();
            }
        }
        else
        {
            // Both directions are gone. epoll reports HUP/ERR whatever the interest mask says, level-triggered, even
            // while reading is paused by back-pressure: take what the socket still holds and its end now (nothing more
            // can arrive, so this is bounded by the receive buffer), then leave the set, or the loop would spin on this
            // socket until the session disposes it. Once out of the set nothing would ever read the rest.
            ReceiveToEnd();
            lock (_gate)
            {
                if (!_disposed && !_unregistered)
                {
                    _unregistered = true;
                    _loop.Unregister(_fd, _id);
                }
            }
        }
    }

    /// <summary>What one receive asks the pipe for by default: enough for a batch of protocol messages.</summary>
    public const int DefaultReceiveBytes = 8192;

    private readonly int _receiveBytes;

    private void Receive()
    {
        PipeWriter writer = _input.Writer;
        Memory<byte> memory;
        try
        {
            memory = writer.GetMemory(_receiveBytes);
        }
        catch (InvalidOperationException)
        {
            // The reader completed the pipe: nobody wants these bytes any more.
            StopReading();
            return;
        }

        if (!TryRecv(memory, out nint n, out int errno))
        {
            return;
        }

        if (n > 0)
        {
            writer.Advance((int)n);
            ValueTask<FlushResult> flush = writer.FlushAsync();
            if (!flush.IsCompleted)
            {
                // Back-pressure: stop reading until the consumer catches up.
                lock (_gate)
                {
                    SetInterest(_interest & ~(EpollIn | EpollRdHup));
                }

                _pendingFlush = flush;
                flush.GetAwaiter().OnCompleted(_resumeReading);
            }
            else if (flush.Result.IsCompleted)
            {
                StopReading();
            }
        }
        else if (n == 0)
        {
            StopReading();
            writer.Complete();
        }
        else if (errno != EAgain && errno != EIntr)
        {
            StopReading();
            writer.Complete(new SocketException(errno));
        }
    }

    /// <summary>One recv into <paramref name="memory"/>; false when the pipe is disposed or done reading (nothing was read).</summary>
    private unsafe bool TryRecv(Memory<byte> memory, out nint n, out int errno)
    {
        errno = 0;
        lock (_gate)
        {
            if (_disposed || _readDone)
            {
                n = 0;
                return false;
            }

            fixed (byte* p = memory.Span)
            {
                n = recv(_fd, p, memory.Length, 0);
            }

            if (n < 0)
            {
                errno = Marshal.GetLastSystemError();
            }
        }

        return true;
    }

    /// <summary>
    /// Moves every byte left in the socket into the input pipe, back-pressure or not, and completes it: with the
    /// socket's error, or without one at end of stream. Completing the writer makes the bytes visible to the reader
    /// even while an earlier flush is still waiting for it.
    /// </summary>
    private void ReceiveToEnd()
    {
        PipeWriter writer = _input.Writer;
        Exception? end = null;
        try
        {
            while (true)
            {
                if (!TryRecv(writer.GetMemory(_receiveBytes), out nint n, out int errno))
                {
                    return;
                }

                if (n > 0)
                {
                    writer.Advance((int)n);
                    continue;
                }

                if (n < 0 && errno == EIntr)
                {
                    continue;
                }

                // 0 is the peer's orderly end; EAGAIN after a hang-up means the error was consumed elsewhere: a reset.
                end = n == 0 ? null : new SocketException(errno == EAgain ? (int)SocketError.ConnectionReset : errno);
                break;
            }
        }
        catch (InvalidOperationException)
        {
            // The reader completed the pipe: nobody wants these bytes any more.
            StopReading();
            return;
        }

        StopReading();
        writer.Complete(end);
    }

    /// <summary>Ends the connection after an unexpected error on the loop thread; the reader sees the error.</summary>
    public void Fail(Exception error)
    {
        StopReading();
        try
        {
            _input.Writer.Complete(error);
        }
        catch (InvalidOperationException)
        {
            // Already completed.
        }

        _output.Reader.CancelPendingRead();
    }

    private void ResumeReading()
    {
        // Consume the flush's result (a ValueTask is observed exactly once).
        bool readerDone;
        try
        {
            readerDone = _pendingFlush.Result.IsCompleted;
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
            readerDone = true;
        }

        _pendingFlush = default;
        if (readerDone)
        {
            StopReading();
            return;
        }

        lock (_gate)
        {
            if (!_disposed && !_readDone)
            {
                SetInterest(_interest | EpollIn | EpollRdHup);
            }
        }
    }

    private void StopReading()
    {
        lock (_gate)
        {
            _readDone = true;
            SetInterest(_interest & ~(EpollIn | EpollRdHup));
        }
    }

    private void SetInterest(uint interest)
    {
        if (!_disposed && !_unregistered && interest != _interest)
        {
            _interest = interest;
            _loop.Modify(_fd, _id, interest);
        }
    }

    private async Task SendLoopAsync()
    {
        PipeReader reader = _output.Reader;
        Exception? error = null;
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync().ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                foreach (var segment in buffer)
                {
                    int offset = 0;
                    while (offset < segment.Length)
                    {
                        int sent = Send(segment.Span.Slice(offset), out int errno);
                        if (sent > 0)
                        {
                            offset += sent;
                        }
                        else if (errno == EAgain)
                        {
                            await WaitWritableAsync().ConfigureAwait(false);
                        }
                        else if (errno != EIntr)
                        {
                            throw new SocketException(errno);
                        }
                    }
                }

                Interlocked.Add(ref _queued, -buffer.Length);
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }

            lock (_gate)
            {
                if (!_disposed)
                {
                    shutdown(_fd, ShutWr);
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidOperationException)
        {
            error = ex;
        }

        await reader.CompleteAsync(error).ConfigureAwait(false);
    }

    private unsafe int Send(ReadOnlySpan<byte> data, out int errno)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                throw new ObjectDisposedException(nameof(EpollSocketPipe));
            }

            fixed (byte* p = data)
            {
                nint n = send(_fd, p, data.Length, MsgNoSignal);
                errno = n < 0 ? Marshal.GetLastSystemError() : 0;
                return (int)Math.Max(n, 0);
            }
        }
    }

    private Task WaitWritableAsync()
    {
        lock (_gate)
        {
            if (_unregistered)
            {
                // The peer hung up: nothing will ever become writable.
                return Task.FromException(new SocketException((int)SocketError.ConnectionReset));
            }

            _writable ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            SetInterest(_interest | EpollOut);
            return _writable.Task;
        }
    }

    public void Dispose()
    {
        TaskCompletionSource? writable;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            if (!_unregistered)
            {
                _loop.Unregister(_fd, _id);
            }

            _disposed = true;
            writable = _writable;
            _writable = null;
            _socket.Dispose();
        }

        // The input writer belongs to the loop thread and the output reader to the send loop: they are
        // told to stop rather than completed from here.
        writable?.TrySetException(new ObjectDisposedException(nameof(EpollSocketPipe)));
        _output.Reader.CancelPendingRead();
    }

    /// <summary>The output pipe's writer, counting what is queued so direct sends never overtake it.</summary>
    private sealed class CountingWriter(EpollSocketPipe owner, PipeWriter inner) : PipeWriter
    {
        public override void Advance(int bytes)
        {
            Interlocked.Add(ref owner._queued, bytes);
            inner.Advance(bytes);
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;
    }
}
