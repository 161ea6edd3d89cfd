namespace Wire.Enforcement.Recording;

/// <summary>What a session does when its recorder cannot keep up or has failed (<c>recording.onFailure</c>).</summary>
public enum RecordingFailureMode
{
    /// <summary>Fail closed: refuse what cannot be recorded (PostgreSQL SQLSTATE 58000, HTTP 503). The default.</summary>
    Deny,

    /// <summary>Fail open: carry on unrecorded; the recording marks the gap where it can.</summary>
    Allow,
}
