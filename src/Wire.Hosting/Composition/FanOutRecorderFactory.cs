using Wire.Enforcement.Recording;

namespace Wire.Hosting.Composition;

/// <summary>
/// Several recorders as one: every session is recorded by each, an event counts as recorded only when all took it, and the
/// strictest <see cref="RecordingFailureMode"/> applies (a session stops if any of its recordings cannot keep up).
/// </summary>
internal sealed class FanOutRecorderFactory(IReadOnlyList<ISessionRecorderFactory> factories) : ISessionRecorderFactory
{
    public RecordingFailureMode OnFailure { get; } =
        factories.Any(f => f.OnFailure == RecordingFailureMode.Deny) ? RecordingFailureMode.Deny : RecordingFailureMode.Allow;

    public ISessionRecorder Start(string sessionId, SessionStartEvent start)
    {
        var recorders = new ISessionRecorder[factories.Count];
        for (int i = 0; i < recorders.Length; i++)
        {
            recorders[i] = factories[i].Start(sessionId, start);
        }
        return new Recorder(sessionId, recorders);
    }

    private sealed class Recorder(string sessionId, ISessionRecorder[] recorders) : ISessionRecorder
    {
        public string SessionId => sessionId;

        public bool IsHealthy => recorders.All(r => r.IsHealthy);

        public bool TryRecord(RecordEvent recordEvent)
        {
            bool all = true;
            foreach (var recorder in recorders)
            {
                all &= recorder.TryRecord(recordEvent);
            }
            return all;
        }

        // Attachments are files beside a recording: the first recorder that keeps them holds them.
        public RecordingAttachment? CreateAttachment(string name)
        {
            foreach (var recorder in recorders)
            {
                if (recorder.CreateAttachment(name) is { } attachment)
                {
                    return attachment;
                }
            }
            return null;
        }

        public async ValueTask CompleteAsync(string reason, CancellationToken cancellationToken = default)
        {
            foreach (var recorder in recorders)
            {
                await recorder.CompleteAsync(reason, cancellationToken).ConfigureAwait(false);
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var recorder in recorders)
            {
                await recorder.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
