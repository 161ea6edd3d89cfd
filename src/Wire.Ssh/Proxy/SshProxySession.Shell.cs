using System.Buffers;
using Wire.Enforcement.Policy;

namespace Wire.Ssh.Proxy;

/// <summary>
/// Lines typed in a shell. With a terminal, keystrokes pass at once (so echo, completion and editing work as usual),
/// and when Enter comes the line is judged like an exec's command line; a denied line never gets its Enter: the shell
/// is sent Ctrl-C instead (abandoning the line, as a person would) and the client sees why. Without a terminal (a
/// script piped into <c>ssh host</c>) each line waits whole for its verdict and a denied one is dropped, its reason on
/// stderr. A line under review holds the Enter, and everything typed after it, until the decision.
/// </summary>
internal sealed partial class SshProxySession
{
    private static readonly byte[] AbandonLine = [0x03];

    private async ValueTask OnShellInputAsync(SshChannel channel, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        var lines = channel.Lines!;
        while (!data.IsEmpty)
        {
            if (!lines.Started)
            {
                channel.Screen?.MarkInputStart();
            }
            int enter = lines.Feed(data.Span);
            int typed = enter < 0 ? data.Length : enter;
            if (typed > 0)
            {
                if (channel.Screen is null)
                {
                    // Nothing echoes without a terminal: the line waits whole (within the window the client was granted).
                    (channel.PendingLine ??= new System.Buffers.ArrayBufferWriter<byte>(256)).Write(data.Span[..typed]);
                }
                else
                {
                    await ForwardInputAsync(channel, data[..typed], ct).ConfigureAwait(false);
                }
            }
            if (enter < 0)
            {
                return;
            }
            var (text, uncertain, typedSince) = lines.TakeLine();
            var endOfLine = data.Slice(enter, 1);
            data = data[(enter + 1)..];
            var candidates = uncertain ? Enforcement.ShellLineEditor.Readings(channel.Screen?.Typed() ?? "", typedSince) : [text];
            if (candidates.All(string.IsNullOrWhiteSpace))
            {
                await ForwardInputAsync(channel, endOfLine, ct).ConfigureAwait(false);
                continue;
            }
            // Every reading of the line is judged, and the strictest verdict holds; the likeliest one is recorded.
            var access = new SshAccess("shell", candidates[^1], null) { Typed = true };
            var decision = Decide(access, candidates.Count == 1 ? null : candidates);
            if (decision.Action == PolicyAction.Allow)
            {
                await ForwardInputAsync(channel, endOfLine, ct).ConfigureAwait(false);
                continue;
            }
            if (decision.Action == PolicyAction.Deny)
            {
                await RefuseLineAsync(channel, decision.Refusal!, ct).ConfigureAwait(false);
                continue;
            }
            byte[] enterByte = endOfLine.ToArray();
            byte[] after = data.ToArray();
            channel.Held = new Queue<byte[]>();
            channel.ReviewCancel = CancellationTokenSource.CreateLinkedTokenSource(_ended.Token);
            StartReview(access, decision.Verdict, channel, async (refusal, token) =>
            {
                if (refusal is null)
                {
                    await ForwardInputAsync(channel, enterByte, token).ConfigureAwait(false);
                }
                else
                {
                    await RefuseLineAsync(channel, refusal, token).ConfigureAwait(false);
                }
                if (after.Length > 0 && _channels.ContainsKey(channel.LocalId) && !channel.Target.CloseSent)
                {
                    await OnShellInputAsync(channel, after, token).ConfigureAwait(false);
                }
            });
            return;
        }
    }

    /// <summary>Sends input on to the shell (after a waiting line, when there is one).</summary>
    private async ValueTask ForwardInputAsync(SshChannel channel, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        if (channel.PendingLine is { WrittenCount: > 0 } pending)
        {
            byte[] line = [.. pending.WrittenSpan, .. data.Span];
            pending.ResetWrittenCount();
            data = line;
        }
        long sent = await SendDataAsync(_target!, channel.Target, null, data, ct).ConfigureAwait(false);
        await ConsumedAsync(_client!, channel.Client, sent, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// With a terminal the shell abandons the line (Ctrl-C in place of Enter) and the person sees the reason; without
    /// one the waiting line is dropped and the reason goes to stderr.
    /// </summary>
    private async ValueTask RefuseLineAsync(SshChannel channel, string refusal, CancellationToken ct)
    {
        Log.Refused(_logger, _id, channel.LocalId, "shell line", refusal);
        if (channel.Screen is null)
        {
            long dropped = (channel.PendingLine?.WrittenCount ?? 0) + 1;
            channel.PendingLine?.ResetWrittenCount();
            await ConsumedAsync(_client!, channel.Client, dropped, ct).ConfigureAwait(false);
            await SendDataAsync(_client!, channel.Client, 1, System.Text.Encoding.UTF8.GetBytes(refusal + "\n"), ct).ConfigureAwait(false);
            return;
        }
        await ForwardInputAsync(channel, AbandonLine, ct).ConfigureAwait(false);
        await SendDataAsync(_client!, channel.Client, null, System.Text.Encoding.UTF8.GetBytes("\r\n" + refusal + "\r\n"), ct).ConfigureAwait(false);
    }
}
