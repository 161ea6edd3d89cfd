using System.Buffers;
using Microsoft.Extensions.Logging;

namespace Wire.Enforcement.Recording;

/// <summary>
/// One session's recording file. <see cref="TryRecord"/> signs and chains each line on the caller's thread into the
/// session's buffer and returns; the shared <see cref="RecordingFlusher"/> writes the buffer to the file every few
/// milliseconds, swapping in a spare so sessions never wait for the disk. <see cref="CompleteAsync"/> writes the rest,
/// <c>session.end</c> last.
/// </summary>
/// <remarks>
/// After the first failure nothing more is written, not even <c>session.end</c>: the file may end in a partial line or
/// miss records, and a file without its <c>session.end</c> never verifies as complete.
/// </remarks>
internal sealed partial class FileSessionRecorder : ISessionRecorder
{
    // A buffer that grew past this for a burst is let go after its write rather than kept for the session's lifetime.
    private const int KeptBufferBytes = 1024 * 1024;
    private const int InitialBufferBytes = 4096;
    private const long PathCheckIntervalMs = 200;

    private readonly Stream? _stream;
    private readonly RecordingStore _store;
    private readonly RecordLineWriter? _lines;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly int _capacity;

    // _gate guards the buffers, the counters and the flags below; _writeLock orders the writes (flusher or completion).
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private ArrayBufferWriter<byte> _active = new(InitialBufferBytes);
    private ArrayBufferWriter<byte>? _spare = new(InitialBufferBytes);
    private int _activeRecords;
    private long _dropped;
    private bool _scheduled;
    private bool _overflowed;
    private bool _completing;
    private volatile bool _failed;
    private Task? _completion;
    private bool _uncheckedWrite;
    private long _lastPathCheck;

    public FileSessionRecorder(string sessionId, RecordingStore store, string fileName, Stream? stream, Exception? openError, ReadOnlySpan<byte> key,
        int capacity, TimeProvider timeProvider, ILogger logger)
    {
        SessionId = sessionId;
        _store = store;
        FilePath = store.Locate(fileName);
        _timeProvider = timeProvider;
        _logger = logger;
        _capacity = capacity;
        if (stream is null)
        {
            _failed = true;
            _completion = Task.CompletedTask;
            RecordingMetrics.Failures.Add(1);
            Log.StartFailed(_logger, sessionId, FilePath, openError);
            return;
        }
        _stream = stream;
        _lines = new RecordLineWriter(sessionId, key);
        _lastPathCheck = Environment.TickCount64;
        RecordingFlusher.Opened();
    }

    /// <inheritdoc />
    public string SessionId { get; }

    /// <summary>The recording's file (a path, or how the store names it).</summary>
    public string FilePath { get; }

    /// <inheritdoc />
    public bool IsHealthy => !_failed && !Volatile.Read(ref _overflowed);

    /// <inheritdoc />
    public bool TryRecord(RecordEvent recordEvent)
    {
        ArgumentNullException.ThrowIfNull(recordEvent);
        if (_failed)
        {
            return false;
        }

        var time = _timeProvider.GetUtcNow();
        lock (_gate)
        {
            if (_failed || _completing)
            {
                return false;
            }
            if (_activeRecords >= _capacity)
            {
                // The disk is behind by a whole buffer: refuse, count, and record the gap with the next accepted event.
                _dropped++;
                RecordingMetrics.Dropped.Add(1);
                if (!_overflowed)
                {
                    Volatile.Write(ref _overflowed, true);
                    Log.FellBehind(_logger, SessionId, _capacity);
                }
                return false;
            }

            try
            {
                if (_dropped > 0)
                {
                    _lines!.Append(new RecordsLostEvent(_dropped), time, _active);
                    _dropped = 0;
                }
                _lines!.Append(recordEvent, time, _active);
            }
            catch (Exception e)
            {
                // Anything, not only the documented InvalidOperationException: a throwing event must fail the recording
                // (its chain is broken), never the session that recorded it.
                Fail(e);
                return false;
            }
            _activeRecords++;
            if (!_scheduled)
            {
                _scheduled = true;
                RecordingFlusher.Schedule(this);
            }
            return true;
        }
    }

    /// <inheritdoc />
    public async ValueTask CompleteAsync(string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reason);
        Task completion;
        lock (_gate)
        {
            if (_completion is null)
            {
                _completing = true;
                if (!_failed)
                {
                    try
                    {
                        var time = _timeProvider.GetUtcNow();
                        if (_dropped > 0)
                        {
                            _lines!.Append(new RecordsLostEvent(_dropped), time, _active);
                            _dropped = 0;
                        }
                        _lines!.Append(new SessionEndEvent(reason, _lines.Records + 1, CompleteAttachments()), time, _active);
                    }
                    catch (Exception e)
                    {
                        Fail(e);
                    }
                }
                _completion = FinishAsync();
            }
            completion = _completion;
        }
        await completion.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => CompleteAsync("recorder disposed");

    private readonly List<RecordingAttachment> _attachments = [];

    /// <inheritdoc />
    public RecordingAttachment? CreateAttachment(string name)
    {
        if (!RecordingAttachment.IsValidName(name))
        {
            throw new ArgumentException("An attachment name is 1 to 64 of [a-z0-9.-], starting with a letter or digit.", nameof(name));
        }
        lock (_gate)
        {
            if (_failed || _completing)
            {
                return null;
            }
            try
            {
                var attachment = new RecordingAttachment(name, _store.Create(SessionId + "." + name, attachment: true), Fail);
                _attachments.Add(attachment);
                return attachment;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
            {
                Fail(e);
                return null;
            }
        }
    }

    /// <summary>Closes the attachments; their hashes for session.end (a failed one fails the recording instead).</summary>
    private List<(string Name, string Sha256)>? CompleteAttachments()
    {
        if (_attachments.Count == 0)
        {
            return null;
        }
        var hashes = new List<(string, string)>(_attachments.Count);
        foreach (var attachment in _attachments)
        {
            if (attachment.Complete() is not { } sha256)
            {
                throw new IOException($"attachment {attachment.Name} could not be written");
            }
            hashes.Add((attachment.Name, sha256));
        }
        return hashes;
    }

    /// <summary>
    /// Called by the flusher: writes what is buffered. Never waits: a write still in progress (only possible on a
    /// stream whose writes are asynchronous) schedules the recorder again when it ends.
    /// </summary>
    internal void Flush()
    {
        lock (_gate)
        {
            _scheduled = false;
            if (_completing || _failed)
            {
                return;
            }
        }
        if (!_writeLock.Wait(0))
        {
            return;
        }
        _ = WriteBufferedAsync();
    }

    // Holds _writeLock on entry; releases it.
    private async Task WriteBufferedAsync()
    {
        try
        {
            var batch = TakeBuffered();
            if (batch is not null)
            {
                await WriteAsync(batch).ConfigureAwait(false);
                ReturnBuffer(batch);
            }
            if (_uncheckedWrite && IsIdle())
            {
                // Going idle: the last writes get their path check now rather than at the next (maybe distant) write.
                CheckPath();
            }
        }
        catch (Exception e)
        {
            Fail(e);
        }
        finally
        {
            _writeLock.Release();
            lock (_gate)
            {
                if (_activeRecords > 0 && !_scheduled && !_completing && !_failed)
                {
                    _scheduled = true;
                    RecordingFlusher.Schedule(this);
                }
            }
        }
    }

    private bool IsIdle()
    {
        lock (_gate)
        {
            return _activeRecords == 0;
        }
    }

    private async Task FinishAsync()
    {
        // Runs off the caller's lock: the first await yields, so CompleteAsync's lock is released before any wait.
        await Task.Yield();
        await _writeLock.WaitAsync().ConfigureAwait(false);
        var stream = _stream!;
        try
        {
            var batch = TakeBuffered();
            if (batch is not null && !_failed)
            {
                await WriteAsync(batch).ConfigureAwait(false);
                if (stream is FileStream file)
                {
                    // The end of a session is rare and final: worth one fsync so the closed recording survives a power loss.
                    file.Flush(flushToDisk: true);
                }
                if (!_failed)
                {
                    Log.Completed(_logger, SessionId, FilePath, _lines!.Records);
                }
            }
        }
        catch (Exception e)
        {
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
            _lines!.Dispose();
            RecordingFlusher.Closed();
        }
    }

    /// <summary>Swaps the buffer with the spare and returns the full one, or null when nothing is buffered or the recorder failed.</summary>
    private ArrayBufferWriter<byte>? TakeBuffered()
    {
        lock (_gate)
        {
            if (_failed || _active.WrittenCount == 0)
            {
                return null;
            }
            var batch = _active;
            _active = _spare ?? new ArrayBufferWriter<byte>(InitialBufferBytes);
            _spare = null;
            RecordingMetrics.Records.Add(_activeRecords);
            _activeRecords = 0;
            return batch;
        }
    }

    private void ReturnBuffer(ArrayBufferWriter<byte> batch)
    {
        if (batch.Capacity > KeptBufferBytes)
        {
            return;
        }
        batch.ResetWrittenCount();
        lock (_gate)
        {
            _spare = batch;
        }
    }

    private async ValueTask WriteAsync(ArrayBufferWriter<byte> batch)
    {
        var stream = _stream!;
        if (stream is FileStream file)
        {
            // The flusher is a thread of its own: a plain write (one pwrite, no buffer to flush) costs less than an
            // async one, which would hop to a thread-pool thread for every batch.
            file.Write(batch.WrittenSpan);

            // On Unix a file whose directory was removed or renamed away keeps accepting writes that nobody will ever
            // read; checking costs a system call, so at most every 200 ms, when the session goes idle, and at the end.
            _uncheckedWrite = true;
            if (Environment.TickCount64 - _lastPathCheck >= PathCheckIntervalMs || _completing)
            {
                CheckPath();
            }
            return;
        }

        await stream.WriteAsync(batch.WrittenMemory).ConfigureAwait(false);
        await stream.FlushAsync().ConfigureAwait(false);
    }

    private void CheckPath()
    {
        _lastPathCheck = Environment.TickCount64;
        _uncheckedWrite = false;
        if (!File.Exists(FilePath))
        {
            throw new IOException("The recording file is no longer at its path; its directory was removed or replaced.");
        }
    }

    private void Fail(Exception exception)
    {
        lock (_gate)
        {
            if (_failed)
            {
                return;
            }
            _failed = true;
        }
        RecordingMetrics.Failures.Add(1);
        Log.WriteFailed(_logger, SessionId, FilePath, exception);
    }

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
