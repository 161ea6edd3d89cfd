using System.Globalization;
using Microsoft.Extensions.Logging;
using Wire.Enforcement.Masking;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Recording;
using Wire.Ssh.Enforcement;
using Wire.Ssh.Protocol;

namespace Wire.Ssh.Proxy;

/// <summary>
/// Recording and output masking (DESIGN.md §4): each judged request is a <c>command</c> record with its verdict, each
/// command's end a <c>result</c> record; a pty session also gets an asciicast file whose SHA-256 <c>session.end</c>
/// holds. Output of execs and shells passes the content detectors on its way to the client (never subsystems,
/// forwards or file transfers by scp), so the client, the cast and the records see the same masked bytes.
/// </summary>
internal sealed partial class SshProxySession
{
    /// <summary>Output held back by a masker goes out after this long without more output.</summary>
    private static readonly TimeSpan MaskFlushDelay = TimeSpan.FromMilliseconds(20);

    private static readonly IReadOnlyDictionary<string, long> NothingMasked = new Dictionary<string, long>();

    private ISessionRecorder? _recorder;

    /// <summary>The detectors the session's mask rules name (for output and for recorded texts); null when none.</summary>
    private ContentScanner? _scanner;

    private int _casts;

    /// <summary>After login: starts the recording and picks the detectors for this identity and target.</summary>
    private void StartEnforcement()
    {
        if (_enforcement is null)
        {
            return;
        }
        var policy = _enforcement.Rules.Current.ForSession(WireProtocol.Ssh, _targetOptions!.Name, Identity!, _enforcement.Grants);
        _scanner = DetectorRules.Scanner(policy, _enforcement.MaskingKey.Span);
        if (_enforcement.Recorder is { } factory)
        {
            string client = _clientEndPoint?.ToString() ?? "";
            _recorder = factory.Start(RecordingSessions.NewId(), new SessionStartEvent("ssh", Identity!.Subject, Identity.Groups, client, _targetOptions.Name, true)
            {
                Grant = _live?.Grant,
            });
        }
    }

    /// <summary>What Wire does with one judged request; a review is recorded once it is decided.</summary>
    private readonly record struct Decision(PolicyAction Action, string? Refusal, Verdict Verdict);

    /// <summary>
    /// Decides <paramref name="access"/>: refused when the recording failed (unless <c>recording.onFailure</c> is
    /// <c>allow</c>), else as the rules say; allowed and denied requests are recorded here.
    /// </summary>
    /// <param name="access">The request (recorded as it is).</param>
    /// <param name="readings">Other readings of the same command, all judged: the strictest verdict holds.</param>
    private Decision Decide(SshAccess access, IReadOnlyList<string>? readings = null)
    {
        _live?.CountCommand();
        if (_recorder is { IsHealthy: false } && _enforcement!.Recorder!.OnFailure != RecordingFailureMode.Allow)
        {
            Log.RecordingFailed(_logger, _id);
            return new Decision(PolicyAction.Deny, "wire: the session cannot be recorded; the request was not passed on", default);
        }
        var verdict = Judge(access) ?? Verdict.Allow();
        foreach (var reading in readings ?? [])
        {
            if (verdict.Action != PolicyAction.Deny && Judge(access with { Command = reading }) is { } other
                && (other.Action == PolicyAction.Deny || other.Action == PolicyAction.Review && verdict.Action == PolicyAction.Allow))
            {
                verdict = other;
                access = access with { Command = reading };
            }
        }
        switch (verdict.Action)
        {
            case PolicyAction.Deny:
                RecordCommand(access, RecordedVerdict.Deny, verdict.Rule, null, "denied");
                return new Decision(PolicyAction.Deny, Refusal(verdict), verdict);
            case PolicyAction.Review:
                return new Decision(PolicyAction.Review, null, verdict);
            default:
                RecordCommand(access, RecordedVerdict.Allow, verdict.Rule, null, "allowed");
                return new Decision(PolicyAction.Allow, null, verdict);
        }
    }

    private void RecordCommand(SshAccess access, RecordedVerdict verdict, string? rule, string? approver, string outcome)
    {
        if (_recorder is null)
        {
            return;
        }
        string text = MaskText(access.Command ?? access.Destination ?? "");
        _recorder.TryRecord(new CommandEvent(text, null, access.Channel, verdict, rule, approver, outcome));
    }

    /// <summary>A text for the recording or an approver, with what the detectors find masked.</summary>
    private string MaskText(string text)
    {
        if (_scanner is null || text.Length == 0)
        {
            return text;
        }
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(text);
        return _scanner.MaskInPlace(bytes) > 0 ? System.Text.Encoding.UTF8.GetString(bytes) : text;
    }

    /// <summary>
    /// An exec or shell is about to run on <paramref name="channel"/>: mask its output unless it is a file transfer, and
    /// record its terminal when it has a pty.
    /// </summary>
    private void CommandStarting(SshChannel channel, string request, string? command)
    {
        channel.Command = request switch
        {
            "exec" => command,
            "subsystem" => "subsystem " + command,
            _ => request,
        };
        channel.Started = (_enforcement?.Time ?? TimeProvider.System).GetTimestamp();
        if (request is not ("exec" or "shell"))
        {
            return;
        }
        if (_scanner is not null && !(request == "exec" && IsFileTransfer(command ?? "")))
        {
            channel.OutputMasker = new StreamMasker(_scanner);
            channel.ErrorMasker = new StreamMasker(_scanner);
        }
        if (_recorder is not null && channel.Pty is { } pty && channel.Cast is null
            && _recorder.CreateAttachment($"c{_casts++.ToString(CultureInfo.InvariantCulture)}.cast") is { } file)
        {
            channel.Cast = new AsciicastWriter(file, pty.Columns, pty.Rows, pty.Term, _enforcement!.Time);
        }
    }

    /// <summary>Commands whose output is a file-transfer protocol, which masking would corrupt: scp's remote ends, rsync's server.</summary>
    private static bool IsFileTransfer(string command)
    {
        string[] words = command.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
        {
            return false;
        }
        string program = Path.GetFileName(words[0]);
        return program == "scp" && words.Any(w => w.StartsWith('-') && !w.StartsWith("--", StringComparison.Ordinal) && (w.Contains('t') || w.Contains('f')))
            || program == "rsync" && words.Contains("--server")
            || program is "git-upload-pack" or "git-receive-pack" or "git-upload-archive";
    }

    /// <summary>The target reported how a command ended (exit-status or exit-signal): kept for the result record.</summary>
    private static void NoteExit(SshChannel channel, ReadOnlySpan<byte> message)
    {
        var reader = new SshReader(message[5..]);
        string request = reader.ReadAscii();
        reader.ReadBoolean();
        if (request == "exit-status" && reader.Remaining >= 4)
        {
            channel.Exit = "exit " + reader.ReadUInt32().ToString(CultureInfo.InvariantCulture);
        }
        else if (request == "exit-signal" && reader.Remaining > 4)
        {
            channel.Exit = "signal " + reader.ReadAscii();
        }
    }

    /// <summary>
    /// Output of the target toward the client on a masked or recorded channel: through the masker (what is final goes
    /// now, a short tail waits for more or for the flush timer), into the cast, then out under the client's window.
    /// </summary>
    private async ValueTask<long> SendOutputAsync(SshChannel channel, uint? dataType, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        var masker = dataType is null ? channel.OutputMasker : channel.ErrorMasker;
        if (masker is not null)
        {
            masker.Append(data.Span);
            // The masker's own buffer: it is not touched again before this send has copied it (the relay is serial).
            data = masker.TakeReadyMemory();
            if (masker.Held > 0)
            {
                ArmFlush(channel);
            }
        }
        channel.Cast?.Output(data.Span);
        channel.Screen?.Output(data.Span);
        channel.OutputBytes += data.Length;
        return await SendDataAsync(_client!, channel.Client, dataType, data, ct).ConfigureAwait(false);
    }

    /// <summary>Releases what the maskers hold (end of output, or the flush timer); the bytes sent now.</summary>
    private async ValueTask<long> FlushOutputAsync(SshChannel channel, CancellationToken ct)
    {
        long sent = 0;
        foreach (var (masker, dataType) in ((StreamMasker?, uint?)[])[(channel.OutputMasker, null), (channel.ErrorMasker, 1u)])
        {
            if (masker is not { Held: > 0 })
            {
                continue;
            }
            var rest = masker.TakeReadyMemory(flush: true);
            channel.Cast?.Output(rest.Span);
            channel.Screen?.Output(rest.Span);
            channel.OutputBytes += rest.Length;
            sent += await SendDataAsync(_client!, channel.Client, dataType, rest, ct).ConfigureAwait(false);
        }
        return sent;
    }

    private void ArmFlush(SshChannel channel)
    {
        channel.FlushTimer ??= (_enforcement?.Time ?? TimeProvider.System).CreateTimer(static state =>
        {
            var (session, target) = ((SshProxySession, SshChannel))state!;
            _ = session.FlushHeldOutputAsync(target);
        }, (this, channel), Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        channel.FlushTimer.Change(MaskFlushDelay, Timeout.InfiniteTimeSpan);
    }

    private async Task FlushHeldOutputAsync(SshChannel channel)
    {
        try
        {
            await _relay.WaitAsync(_ended.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        try
        {
            if (_channels.ContainsKey(channel.LocalId) && !channel.Client.CloseSent)
            {
                long sent = await FlushOutputAsync(channel, _ended.Token).ConfigureAwait(false);
                await ConsumedAsync(_target!, channel.Target, sent, _ended.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is SshProtocolException or OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            Log.Ended(_logger, _id, e.Message);
            await _ended.CancelAsync().ConfigureAwait(false);
        }
        finally
        {
            _relay.Release();
        }
    }

    /// <summary>A command's channel ended: its result record (how it ended, output bytes, values masked).</summary>
    private void CommandEnded(SshChannel channel)
    {
        channel.FlushTimer?.Dispose();
        channel.FlushTimer = null;
        if (_recorder is null || channel.Command is null || channel.Refused)
        {
            return;
        }
        long masked = (channel.OutputMasker?.Masked ?? 0) + (channel.ErrorMasker?.Masked ?? 0);
        _recorder.TryRecord(new ResultEvent(0, channel.OutputBytes, masked == 0 ? NothingMasked : new Dictionary<string, long> { ["output"] = masked },
            _enforcement!.Time.GetElapsedTime(channel.Started))
        {
            Status = channel.Exit ?? "closed",
        });
        channel.Command = null;
    }

    /// <summary>At the session's end: results of channels still open, then the recording's last record.</summary>
    private async ValueTask CompleteRecordingAsync(string reason)
    {
        foreach (var channel in _channels.Values)
        {
            CommandEnded(channel);
        }
        if (_recorder is not null)
        {
            await _recorder.CompleteAsync(reason).ConfigureAwait(false);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Error, Message = "ssh session {Id}: the recording failed; requests are refused (recording.onFailure is deny)")]
        public static partial void RecordingFailed(ILogger logger, long id);
    }
}
