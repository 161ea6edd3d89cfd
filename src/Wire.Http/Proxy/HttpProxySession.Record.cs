using Wire.Enforcement;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Recording;

namespace Wire.Http.Proxy;

internal sealed partial class HttpProxySession
{
    // One recording per connection and identity: a later request on the same connection with another token starts a
    // new recording, so every file has one subject (its session.start).
    private ISessionRecorder? _recorder;
    private string? _recordedSubject;

    /// <summary>The recorder for requests of <paramref name="identity"/>; null when the gateway records nothing.</summary>
    private async ValueTask<ISessionRecorder?> RecorderForAsync(WireIdentity identity, HttpTargetOptions target)
    {
        if (_server.Enforcement?.Recorder is not { } factory)
        {
            return null;
        }
        if (_recorder is not null && _recordedSubject == identity.Subject)
        {
            return _recorder;
        }
        await RecordingSessions.CompleteAsync(_recorder, "identity changed").ConfigureAwait(false);
        _recorder = factory.Start(RecordingSessions.NewId(),
            new SessionStartEvent("http", identity.Subject, identity.Groups, _clientEndPoint, target.Name, _tls));
        _recordedSubject = identity.Subject;
        return _recorder;
    }

    /// <summary>Whether recording failed or fell behind and <c>recording.onFailure</c> is <c>deny</c> (fail closed: 503).</summary>
    private bool RecordingRefuses(ISessionRecorder? recorder) =>
        recorder is { IsHealthy: false } && _server.Enforcement?.Recorder?.OnFailure != RecordingFailureMode.Allow;

    private static void RecordCommand(ISessionRecorder? recorder, Judgement judgement) =>
        recorder?.TryRecord(new CommandEvent(judgement.Text, null, judgement.Kind, judgement.Verdict, judgement.Rule, judgement.Approver, judgement.Outcome));

    private static readonly IReadOnlyDictionary<string, long> NothingMasked = new Dictionary<string, long>();

    private void RecordResult(ISessionRecorder? recorder, int status, string reason, long bytes, long started, long masked = 0)
    {
        if (recorder is null)
        {
            return;
        }
        var duration = _server.Enforcement!.Time.GetElapsedTime(started);
        recorder.TryRecord(new ResultEvent(0, bytes, masked == 0 ? NothingMasked : new Dictionary<string, long> { ["body"] = masked }, duration)
        {
            Status = reason.Length == 0 ? status.ToString(System.Globalization.CultureInfo.InvariantCulture)
                : status.ToString(System.Globalization.CultureInfo.InvariantCulture) + " " + reason,
        });
    }
}
