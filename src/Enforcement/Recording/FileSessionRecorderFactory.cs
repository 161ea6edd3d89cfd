using Microsoft.Extensions.Logging;

namespace Wire.Enforcement.Recording;

/// <summary>
/// Records each session to <c>{Directory}/{sessionId}.jsonl</c> (docs/recording.md); inside Wire, also to the shared
/// PostgreSQL store of gateway instances (<c>recording.store</c>).
/// </summary>
public sealed partial class FileSessionRecorderFactory : ISessionRecorderFactory
{
    private readonly RecordingOptions _options;
    private readonly byte[] _key;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly RecordingStore _store;

    /// <summary>Creates the factory and the recording directory if it is missing.</summary>
    /// <param name="options">Where and how to record.</param>
    /// <param name="timeProvider">The clock for record timestamps.</param>
    /// <param name="loggerFactory">Creates the <c>Wire.Recording</c> logger.</param>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="IOException">The directory cannot be created.</exception>
    public FileSessionRecorderFactory(RecordingOptions options, TimeProvider timeProvider, ILoggerFactory loggerFactory)
        : this(options, timeProvider, loggerFactory, store: null)
    {
    }

    /// <summary>Test seam: <paramref name="openStream"/> opens the stream for a recording path.</summary>
    internal FileSessionRecorderFactory(RecordingOptions options, TimeProvider timeProvider, ILoggerFactory loggerFactory,
        Func<string, Stream> openStream)
        : this(options, timeProvider, loggerFactory, new DirectoryRecordingStore(options?.Directory ?? "", openStream))
    {
    }

    /// <summary>Records into <paramref name="store"/>; null for <see cref="RecordingOptions.Directory"/>.</summary>
    internal FileSessionRecorderFactory(RecordingOptions options, TimeProvider timeProvider, ILoggerFactory loggerFactory, RecordingStore? store)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        options.Validate(directory: store is null or DirectoryRecordingStore);
        _options = options;
        _key = options.Key.ToArray();
        _timeProvider = timeProvider;
        _logger = loggerFactory.CreateLogger("Wire.Recording");
        _store = store ?? new DirectoryRecordingStore(options.Directory);
        try
        {
            _store.Prepare();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            // Not fatal here: each session tries again, and a recorder that cannot write refuses statements (fail closed).
            Log.DirectoryUnavailable(_logger, _store.Locate(""), e.Message);
        }
    }

    /// <inheritdoc />
    public RecordingFailureMode OnFailure => _options.OnFailure;

    /// <inheritdoc />
    public ISessionRecorder Start(string sessionId, SessionStartEvent start)
    {
        if (!RecordingFormat.IsValidSessionId(sessionId))
        {
            throw new ArgumentException("A session id is 1 to 128 of [A-Za-z0-9_-], starting with a letter or digit.", nameof(sessionId));
        }
        ArgumentNullException.ThrowIfNull(start);

        var fileName = sessionId + RecordingFormat.Extension;
        Stream? stream = null;
        Exception? openError = null;
        try
        {
            // Again per session: the directory may have been moved away (archived) since startup.
            _store.Prepare();
            stream = _store.Create(fileName, attachment: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            openError = e;
        }
        var recorder = new FileSessionRecorder(sessionId, _store, fileName, stream, openError, _key, _options.QueueCapacity, _timeProvider, _logger);
        recorder.TryRecord(start);
        return recorder;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2405, EventName = "RecordingDirectoryUnavailable", Level = LogLevel.Error,
            Message = "Recordings cannot be stored at {Directory}: {Reason}; sessions will refuse statements unless recording.onFailure is allow")]
        public static partial void DirectoryUnavailable(ILogger logger, string directory, string reason);
    }
}
