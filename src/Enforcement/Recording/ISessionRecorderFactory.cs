namespace Wire.Enforcement.Recording;

/// <summary>Starts one <see cref="ISessionRecorder"/> per session.</summary>
public interface ISessionRecorderFactory
{
    /// <summary>What sessions do when their recorder falls behind or fails (<c>recording.onFailure</c>).</summary>
    RecordingFailureMode OnFailure { get; }

    /// <summary>
    /// Starts recording session <paramref name="sessionId"/> with <paramref name="start"/> as its first record. Never
    /// throws for I/O failures: a recording that cannot be created gives a recorder that is not
    /// <see cref="ISessionRecorder.IsHealthy"/>.
    /// </summary>
    /// <param name="sessionId">A unique id made by the caller: 1 to 128 of <c>[A-Za-z0-9_-]</c>, starting with a letter or digit.</param>
    /// <param name="start">The <c>session.start</c> record.</param>
    /// <exception cref="ArgumentException"><paramref name="sessionId"/> is not a valid id.</exception>
    ISessionRecorder Start(string sessionId, SessionStartEvent start);
}
