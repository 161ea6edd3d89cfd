using Wire.Enforcement;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Recording;
using Wire.Http.Enforcement;

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
            new SessionStartEvent("http", identity.Subject, identity.Groups, _clientEndPoint, target.Name, _tls)
            {
                Grant = target.RequireGrant ? _server.Enforcement?.Grants?.FindValid(identity.Subject, target.Name)?.Id : null,
            });
        _recordedSubject = identity.Subject;
        return _recorder;
    }

    /// <summary>Whether recording failed or fell behind and <c>recording.onFailure</c> is <c>deny</c> (fail closed: 503).</summary>
    private bool RecordingRefuses(ISessionRecorder? recorder) =>
        recorder is { IsHealthy: false } && _server.Enforcement?.Recorder?.OnFailure != RecordingFailureMode.Allow;

    private void RecordCommand(ISessionRecorder? recorder, Judgement judgement)
    {
        if (recorder is null)
        {
            return;
        }
        recorder.TryRecord(new CommandEvent(judgement.Text, null, judgement.Kind, judgement.Verdict, judgement.Rule, judgement.Approver, judgement.Outcome));
        var fields = new List<string>(_request.Fields.Count);
        foreach (var field in _request.Fields)
        {
            var name = System.Text.Encoding.ASCII.GetString(_request.Name(field));
            string value = IsCredential(name) ? "***" : System.Text.Encoding.Latin1.GetString(_request.Value(field));
            if (judgement.Mask?.Scanner is { } scanner && value != "***")
            {
                var bytes = System.Text.Encoding.UTF8.GetBytes(value);
                if (scanner.MaskInPlace(bytes) > 0)
                {
                    value = System.Text.Encoding.UTF8.GetString(bytes);
                }
            }
            fields.Add(name + ": " + value);
        }
        recorder.TryRecord(new HttpRequestEvent(System.Text.Encoding.ASCII.GetString(_request.First(HttpFieldKind.Host)), fields));
    }

    /// <summary>Fields whose values are credentials: never recorded.</summary>
    private static bool IsCredential(string name) =>
        name.Equals("Authorization", StringComparison.OrdinalIgnoreCase) || name.Equals("Proxy-Authorization", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Cookie", StringComparison.OrdinalIgnoreCase)
        || name.Contains("token", StringComparison.OrdinalIgnoreCase) || name.Contains("secret", StringComparison.OrdinalIgnoreCase)
        || name.Contains("password", StringComparison.OrdinalIgnoreCase) || name.Contains("key", StringComparison.OrdinalIgnoreCase);

    private void RecordBodySample(ISessionRecorder? recorder, ReadOnlySpan<byte> sample)
    {
        if (recorder is null || sample.IsEmpty)
        {
            return;
        }
        recorder.TryRecord(new HttpBodySampleEvent(System.Text.Encoding.Latin1.GetString(_response.First("content-type"u8)),
            System.Text.Encoding.UTF8.GetString(sample)));
    }

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
