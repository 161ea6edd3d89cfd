namespace Wire.Enforcement.Recording;

/// <summary>
/// Records one session: append-only, hash-chained, signed. Events are buffered and written off the caller's path, so
/// nothing here waits for the disk; the session decides with <see cref="IsHealthy"/> and <see cref="RecordingFailureMode"/>
/// what to do when recording falls behind or fails.
/// </summary>
public interface ISessionRecorder : IAsyncDisposable
{
    /// <summary>The session's id, which also names its recording.</summary>
    string SessionId { get; }

    /// <summary>
    /// False once a write failed or the queue overflowed (an event was refused). Stays false for the rest of the session.
    /// </summary>
    bool IsHealthy { get; }

    /// <summary>
    /// Buffers <paramref name="recordEvent"/> for writing and returns without waiting for the disk. False when it was not
    /// accepted: the buffer is full, the recorder has failed, or the session was completed. Never throws for recording
    /// failures.
    /// </summary>
    /// <param name="recordEvent">The event; its strings must already be masked. It may be reused once the call returns.</param>
    bool TryRecord(RecordEvent recordEvent);

    /// <summary>
    /// Starts a file that belongs to this recording (<c>{SessionId}.{name}</c>, for example an asciicast of a terminal),
    /// whose SHA-256 <see cref="CompleteAsync"/> puts into <c>session.end</c>. Null when this recorder keeps no
    /// attachments or the file cannot be created (the recorder is then not <see cref="IsHealthy"/>).
    /// </summary>
    /// <param name="name">1 to 64 of <c>[a-z0-9.-]</c>, unique in the session (<see cref="RecordingAttachment.IsValidName"/>).</param>
    RecordingAttachment? CreateAttachment(string name) => null;

    /// <summary>
    /// Stops accepting events, writes what is queued and the final <c>session.end</c> record, and closes the recording.
    /// Idempotent. Does not throw for recording failures (they show in <see cref="IsHealthy"/>).
    /// </summary>
    /// <param name="reason">Why the session ended, for the <c>session.end</c> record.</param>
    /// <param name="cancellationToken">Stops waiting for the writer (which finishes on its own).</param>
    ValueTask CompleteAsync(string reason, CancellationToken cancellationToken = default);
}
