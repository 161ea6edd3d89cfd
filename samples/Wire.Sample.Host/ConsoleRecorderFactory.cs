using Wire.Enforcement.Recording;

namespace Wire.Sample.Host;

/// <summary>A host's own recorder: one line per command on standard output (the text is already masked).</summary>
public sealed class ConsoleRecorderFactory : ISessionRecorderFactory
{
    /// <inheritdoc />
    public RecordingFailureMode OnFailure => RecordingFailureMode.Allow;

    /// <inheritdoc />
    public ISessionRecorder Start(string sessionId, SessionStartEvent start) => new Recorder(sessionId, start.Subject);

    private sealed class Recorder(string sessionId, string subject) : ISessionRecorder
    {
        public string SessionId => sessionId;

        public bool IsHealthy => true;

        public bool TryRecord(RecordEvent recordEvent)
        {
            if (recordEvent is CommandEvent command)
            {
                Console.WriteLine($"audit: {subject} {command.Outcome}: {command.Text}");
            }
            return true;
        }

        public ValueTask CompleteAsync(string reason, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
