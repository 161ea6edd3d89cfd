using System.Buffers;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Wire.Enforcement.Recording;

/// <summary>
/// One session's recording file. Callers enqueue into a bounded channel and never wait; one writer loop per recorder
/// drains it in batches, signs and chains each line, and writes and flushes once per batch. The loop is an async
/// state machine parked on the channel, not a thread, so thousands of sessions cost thousands of small objects, and a
/// slow or failed file holds up only its own session.
/// </summary>
/// <remarks>
/// After the first failure nothing more is written, not even <c>session.end</c>: the file may end in a partial line or
/// miss records, and a file without its <c>session.end</c> never verifies as complete.
/// </remarks>
internal sealed partial class FileSessionRecorder : ISessionRecorder
{
    // Enough lines to make one write worth it, small enough that a busy session's latest events reach disk quickly.
    private const int MaxBatchBytes = 64 * 1024;

    private readonly Channel<Pending> _queue;
    private readonly Stream? _stream;
    private readonly RecordLineWriter? _lines;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly int _capacity;
    private readonly Task _writer;
    private long _dropped;
    private int _overflowed;
    private int _completing;
    private volatile bool _failed;
    private string _endReason = string.Empty;
    private DateTimeOffset _endTime;

    public FileSessionRecorder(string sessionId, string path, Stream? stream, Exception? openError, ReadOnlySpan<byte> key, int capacity,
        TimeProvider timeProvider, ILogger logger)
    {
        SessionId = sessionId;
        FilePath = path;
        _timeProvider = timeProvider;
        _logger = logger;
        _capacity = capacity;
        _queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
            AllowSynchronousContinuations = false,
        });

        if (stream is null)
        {
            _failed = true;
            _queue.Writer.TryComplete();
            _writer = Task.CompletedTask;
            RecordingMetrics.Failures.Add(1);
            Log.StartFailed(_logger, sessionId, path, openError);
            return;
        }
        _stream = stream;
        _lines = new RecordLineWriter(sessionId, key);
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <inheritdoc />
    public string SessionId { get; }

    /// <summary>The recording's file.</summary>
    public string FilePath { get; }

    /// <inheritdoc />
    public bool IsHealthy => !_failed && Volatile.Read(ref _overflowed) == 0;

    /// <inheritdoc />
    public bool TryRecord(RecordEvent recordEvent)
    {
        ArgumentNullException.ThrowIfNull(recordEvent);
        if (_failed || Volatile.Read(ref _completing) != 0)
        {
            return false;
        }

        // Events refused since the last accepted one travel with it, so the gap is recorded where it happened.
        var lost = Interlocked.Exchange(ref _dropped, 0);
        if (_queue.Writer.TryWrite(new Pending(recordEvent, _timeProvider.GetUtcNow(), lost)))
        {
            return true;
        }
        if (_failed || Volatile.Read(ref _completing) != 0)
        {
            Interlocked.Add(ref _dropped, lost);
            return false;
        }
        Interlocked.Add(ref _dropped, lost + 1);
        RecordingMetrics.Dropped.Add(1);
        if (Interlocked.Exchange(ref _overflowed, 1) == 0)
        {
            Log.FellBehind(_logger, SessionId, _capacity);
        }
        return false;
    }

    /// <inheritdoc />
    public async ValueTask CompleteAsync(string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reason);
        if (Interlocked.Exchange(ref _completing, 1) == 0)
        {
            _endReason = reason;
            _endTime = _timeProvider.GetUtcNow();
            // Publishes _endReason and _endTime to the writer, which reads them after the channel reports completion.
            _queue.Writer.TryComplete();
        }
        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => CompleteAsync("recorder disposed");

    private async Task WriteLoopAsync()
    {
        var stream = _stream!;
        var lines = _lines!;
        var batch = new ArrayBufferWriter<byte>(MaxBatchBytes);
        try
        {
            var reader = _queue.Reader;
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                batch.ResetWrittenCount();
                var written = lines.Records;
                while (batch.WrittenCount < MaxBatchBytes && reader.TryRead(out var pending))
                {
                    if (pending.LostBefore > 0)
                    {
                        lines.Append(new RecordsLostEvent(pending.LostBefore), pending.Time, batch);
                    }
                    lines.Append(pending.Event, pending.Time, batch);
                }
                await WriteBatchAsync(stream, batch).ConfigureAwait(false);
                RecordingMetrics.Records.Add(lines.Records - written);

                // Group commit: a busy session would otherwise wake this loop (a thread-pool hop and a write) for every
                // record; letting records gather for a few milliseconds costs a little delay on disk, not on the session.
                // Under pressure (an eighth of the queue waiting) no pause: keep writing so the queue cannot fill.
                if (Volatile.Read(ref _completing) == 0 && reader.Count < _capacity / 8)
                {
                    await Task.Delay(CoalesceDelay).ConfigureAwait(false);
                }
                if (_uncheckedWrite && !reader.TryPeek(out _))
                {
                    // Going idle: the last writes get their path check now rather than at the next (maybe distant) write.
                    CheckPath();
                }
            }

            batch.ResetWrittenCount();
            var lost = Interlocked.Exchange(ref _dropped, 0);
            if (lost > 0)
            {
                lines.Append(new RecordsLostEvent(lost), _endTime, batch);
            }
            lines.Append(new SessionEndEvent(_endReason, lines.Records + 1), _endTime, batch);
            await WriteBatchAsync(stream, batch).ConfigureAwait(false);
            if (stream is FileStream file)
            {
                // The end of a session is rare and final: worth one fsync so the closed recording survives a power loss.
                file.Flush(flushToDisk: true);
            }
            RecordingMetrics.Records.Add(lost > 0 ? 2 : 1);
            Log.Completed(_logger, SessionId, FilePath, lines.Records);
        }
        catch (Exception e)
        {
            // Anything, not only IOException: a throwing event serializer must not become an unobserved task exception.
            Fail(e);
        }
        finally
        {
            try
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                Fail(e);
            }
            lines.Dispose();
        }
    }

    private async ValueTask WriteBatchAsync(Stream stream, ArrayBufferWriter<byte> batch)
    {
        if (stream is FileStream file)
        {
            // The loop already runs off the sessions' path: a plain write (one pwrite, no buffer to flush) costs less
            // than an async one, which would hop to another thread-pool thread for every batch.
            file.Write(batch.WrittenSpan);

            // On Unix a file whose directory was removed or renamed away keeps accepting writes that nobody will ever
            // read; checking costs a system call, so at most every 200 ms and at the end.
            _uncheckedWrite = true;
            if (Environment.TickCount64 - _lastPathCheck >= PathCheckIntervalMs || Volatile.Read(ref _completing) != 0)
            {
                CheckPath();
            }
            return;
        }

        await stream.WriteAsync(batch.WrittenMemory).ConfigureAwait(false);
        await stream.FlushAsync().ConfigureAwait(false);
    }

    private const long PathCheckIntervalMs = 200;
    private bool _uncheckedWrite;

    private void CheckPath()
    {
        _lastPathCheck = Environment.TickCount64;
        _uncheckedWrite = false;
        if (!File.Exists(FilePath))
        {
            throw new IOException("The recording file is no longer at its path; its directory was removed or replaced.");
        }
    }
    private static readonly TimeSpan CoalesceDelay = TimeSpan.FromMilliseconds(2);
    private long _lastPathCheck;

    private void Fail(Exception exception)
    {
        if (_failed)
        {
            return;
        }
        _failed = true;
        _queue.Writer.TryComplete();
        RecordingMetrics.Failures.Add(1);
        Log.WriteFailed(_logger, SessionId, FilePath, exception);
    }

    private readonly record struct Pending(RecordEvent Event, DateTimeOffset Time, long LostBefore);

    private static partial class Log
    {
        [LoggerMessage(EventId = 2401, EventName = "RecordingStartFailed", Level = LogLevel.Error,
            Message = "Session {SessionId}: cannot create recording {Path}; the session is not recorded")]
        public static partial void StartFailed(ILogger logger, string sessionId, string path, Exception? exception);

        [LoggerMessage(EventId = 2402, EventName = "RecordingFellBehind", Level = LogLevel.Warning,
            Message = "Session {SessionId}: recording queue full ({Capacity} records); events are being refused")]
        public static partial void FellBehind(ILogger logger, string sessionId, int capacity);

        [LoggerMessage(EventId = 2403, EventName = "RecordingWriteFailed", Level = LogLevel.Error,
            Message = "Session {SessionId}: writing recording {Path} failed; nothing more is recorded for this session")]
        public static partial void WriteFailed(ILogger logger, string sessionId, string path, Exception exception);

        [LoggerMessage(EventId = 2404, EventName = "RecordingCompleted", Level = LogLevel.Debug,
            Message = "Session {SessionId}: recording {Path} closed with {Records} records")]
        public static partial void Completed(ILogger logger, string sessionId, string path, long records);
    }
}
