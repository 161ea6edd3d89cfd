using System.Buffers.Binary;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Wire.Enforcement;
using Wire.Enforcement.Approvals;
using Wire.Enforcement.Policy;
using Wire.Ssh.Protocol;

namespace Wire.Ssh.Proxy;

/// <summary>
/// The rules applied to what a client asks for (DESIGN.md §4: one verdict per SSH channel request, channel open and
/// forward): allowed requests pass, denied ones are refused in SSH's terms, and a review holds only the channel it
/// concerns (or, for a forward request, the client's later global requests) while everything else flows.
/// </summary>
internal sealed partial class SshProxySession
{
    private readonly WireEnforcement? _enforcement;

    /// <summary>The client's global requests held behind a forward under review, in order; null when none is.</summary>
    private Queue<byte[]>? _globalHeld;

    /// <summary>The verdict on <paramref name="access"/>; null when the gateway enforces nothing here.</summary>
    private Verdict? Judge(SshAccess access)
    {
        if (_enforcement is null)
        {
            return null;
        }
        // Per request, so a rules reload applies to the next request of a connection that is already open.
        var policy = _enforcement.Rules.Current.ForSession(WireProtocol.Ssh, _targetOptions!.Name, Identity!, _enforcement.Grants);
        return policy.AllowsEverything ? null : policy.Evaluate(AccessRequest.ForSsh(access));
    }

    /// <summary>What the client is told for a denial (DESIGN.md §4).</summary>
    private static string Refusal(Verdict verdict) => verdict.Rule is null
        ? "wire: denied: " + (verdict.Message ?? "no rule allows it")
        : $"wire: denied by rule {verdict.Rule}" + (verdict.Message is { } message ? ": " + message : "");

    /// <summary>
    /// Asks the approval broker about <paramref name="access"/> off the relay, then, holding the relay again, runs
    /// <paramref name="decided"/> with null (approved) or the refusal to give, and handles what was held meanwhile.
    /// </summary>
    /// <param name="access">What the client asked for.</param>
    /// <param name="verdict">The review verdict: its rule, approvers and timeout.</param>
    /// <param name="channel">The channel whose later client messages wait (null: none, or the global requests when <paramref name="global"/>).</param>
    /// <param name="decided">Runs with null when approved, or with the refusal to give.</param>
    /// <param name="global">Whether the global requests wait, not a channel's messages.</param>
    private void StartReview(SshAccess access, Verdict verdict, SshChannel? channel, Func<string?, CancellationToken, ValueTask> decided, bool global = false)
    {
        if (global)
        {
            _globalHeld = new Queue<byte[]>();
        }
        var request = new ApprovalRequest
        {
            Id = Guid.NewGuid().ToString("n"),
            Identity = Identity!,
            Protocol = WireProtocol.Ssh,
            Target = _targetOptions!.Name,
            SessionId = "ssh-" + _id.ToString(CultureInfo.InvariantCulture),
            Text = access.Command is { } command ? $"{access.Channel}: {MaskText(command)}" : access.Destination is { } to ? $"{access.Channel} {to}" : access.Channel,
            Rule = verdict.Rule!,
            Approvers = verdict.Approvers,
            Timeout = verdict.Timeout,
            RequestedAt = _enforcement!.Time.GetUtcNow(),
        };
        Log.ReviewRequested(_logger, _id, Identity!.Subject, request.Text, verdict.Rule!);
        _ = ReviewAsync(access, request, channel, decided, global);
    }

    private async Task ReviewAsync(SshAccess access, ApprovalRequest request, SshChannel? channel, Func<string?, CancellationToken, ValueTask> decided,
        bool global)
    {
        var token = channel?.ReviewCancel?.Token ?? _ended.Token;
        string? refusal;
        string? approver = null;
        string outcome;
        // A review keeps the session waiting on a person, not idle.
        using var hold = _idle?.Hold() ?? default;
        try
        {
            var decision = await _enforcement!.Approvals.WaitForDecisionAsync(request, token).ConfigureAwait(false);
            approver = decision.Approver;
            (refusal, outcome) = decision.Outcome switch
            {
                ApprovalOutcome.Approved => ((string?)null, "approved"),
                ApprovalOutcome.Denied => ($"wire: denied by rule {request.Rule} (review denied" + (approver is { } who ? $" by {who})" : ")"), "denied"),
                ApprovalOutcome.TimedOut => ($"wire: review by rule {request.Rule} timed out", "timed-out"),
                _ => ($"wire: review by rule {request.Rule} was cancelled", "cancelled"),
            };
        }
        catch (Exception e)
        {
            // Fail closed: a broken approval service never lets the request through.
            Log.ApprovalFailed(_logger, _id, e.Message);
            (refusal, outcome) = ("wire: the approval service failed; the request was not passed on", "failed");
        }
        RecordCommand(access, Wire.Enforcement.Recording.RecordedVerdict.Review, request.Rule, approver, outcome);
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
            Log.ReviewDecided(_logger, _id, request.Text, refusal ?? "approved");
            // What waited is taken first: the decision itself may start another review on the same scope.
            Queue<byte[]>? held;
            if (channel is not null)
            {
                held = channel.Held;
                channel.Held = null;
                channel.ReviewCancel?.Dispose();
                channel.ReviewCancel = null;
            }
            else
            {
                held = global ? _globalHeld : null;
                _globalHeld = global ? null : _globalHeld;
            }
            await decided(refusal, _ended.Token).ConfigureAwait(false);
            if (held is not null)
            {
                await ReplayAsync(held, channel is not null ? () => channel.Held : () => _globalHeld).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is SshProtocolException or OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            if (!_ended.IsCancellationRequested)
            {
                Log.ProtocolError(_logger, _id, "client", e.Message);
                await _client!.TryDisconnectAsync(e is SshProtocolException p ? p.Reason : SshDisconnectReason.ByApplication, e.Message).ConfigureAwait(false);
                await _ended.CancelAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _relay.Release();
        }
    }

    /// <summary>
    /// Handles messages held during a review, in order; if one starts another review on the same scope, the rest wait
    /// behind it again.
    /// </summary>
    private async ValueTask ReplayAsync(Queue<byte[]> held, Func<Queue<byte[]>?> holding)
    {
        while (held.TryDequeue(out var message))
        {
            if (holding() is { } again)
            {
                again.Enqueue(message);
                continue;
            }
            await OnClientMessageAsync(message, _ended.Token).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A client message that must wait for a pending review (its channel's, or for global requests one on a forward):
    /// held, copied, and true. Window adjustments and replies to the target's own requests are never held; a CLOSE cancels
    /// the channel's review.
    /// </summary>
    private bool HeldForReview(ReadOnlyMemory<byte> message)
    {
        byte type = message.Span[0];
        if (type == SshMessage.GlobalRequest && _globalHeld is { } globalHeld)
        {
            globalHeld.Enqueue(message.ToArray());
            return true;
        }
        if (type is SshMessage.ChannelWindowAdjust or SshMessage.ChannelSuccess or SshMessage.ChannelFailure
            || type is < SshMessage.ChannelWindowAdjust or > SshMessage.ChannelFailure || message.Length < 5
            || !_channels.TryGetValue(BinaryPrimitives.ReadUInt32BigEndian(message.Span[1..]), out var channel) || channel.Held is not { } held)
        {
            return false;
        }
        if (held.Count >= 4096)
        {
            // Data is bounded by the window Wire granted; this bounds the small messages a client could pile up.
            throw new SshProtocolException($"the client sent too many messages on channel {channel.LocalId} while it waited for a review");
        }
        held.Enqueue(message.ToArray());
        if (type == SshMessage.ChannelClose)
        {
            channel.ReviewCancel?.Cancel();
        }
        return true;
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "ssh session {Id}: channel {Channel} {Request} refused: {Reason}")]
        public static partial void Refused(ILogger logger, long id, uint channel, string request, string reason);

        [LoggerMessage(Level = LogLevel.Information, Message = "ssh session {Id}: {Subject} waits for review of '{Text}' by {Rule}")]
        public static partial void ReviewRequested(ILogger logger, long id, string subject, string text, string rule);

        [LoggerMessage(Level = LogLevel.Information, Message = "ssh session {Id}: review of '{Text}': {Outcome}")]
        public static partial void ReviewDecided(ILogger logger, long id, string text, string outcome);

        [LoggerMessage(Level = LogLevel.Error, Message = "ssh session {Id}: the approval service failed: {Reason}")]
        public static partial void ApprovalFailed(ILogger logger, long id, string reason);
    }
}
