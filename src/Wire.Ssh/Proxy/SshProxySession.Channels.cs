using System.Buffers.Binary;
using System.Diagnostics;
using Wire.Enforcement.Diagnostics;
using Wire.Enforcement.Policy;
using Wire.Ssh.Protocol;
using Wire.Ssh.Transport;

namespace Wire.Ssh.Proxy;

/// <summary>Channels (RFC 4254 §5-6): opening either way, requests and their replies in order, data under both legs' windows.</summary>
internal sealed partial class SshProxySession
{
    // RFC 4254 §5.1 reason codes.
    private const uint OpenAdministrativelyProhibited = 1;
    private const uint OpenConnectFailed = 2;
    private const uint OpenUnknownChannelType = 3;
    private const uint OpenResourceShortage = 4;

    private readonly Dictionary<uint, SshChannel> _channels = [];
    private uint _nextChannel;
    private bool _noMoreSessions;
    private bool _agentRequested;
    private bool _x11Requested;

    private bool Allows(SshForwarding kind) => (_targetOptions!.Forwarding & kind) != 0;

    // ---- opening ----

    /// <summary>
    /// A CHANNEL_OPEN from either peer: checked against what the target allows and what the client asked for, then
    /// opened on the other leg with the same type-specific data under Wire's own channel number.
    /// </summary>
    private async ValueTask OnOpenAsync(ReadOnlyMemory<byte> message, bool fromClient, CancellationToken ct)
    {
        var reader = new SshReader(message.Span[1..]);
        var open = new PendingOpen(reader.ReadAscii(), reader.ReadUInt32(), reader.ReadUInt32(), reader.ReadUInt32(), null, fromClient);
        var extra = message[(message.Length - reader.Remaining)..];
        var leg = Leg(fromClient);

        var (reason, why, destination) = fromClient ? ClientOpenRefusal(open.Type, extra.Span) : TargetOpenRefusal(open.Type, extra.Span);
        if (reason == 0 && _channels.Count >= _options.MaxChannels)
        {
            (reason, why) = (OpenResourceShortage, "wire: too many channels");
        }
        if (reason != 0)
        {
            Log.OpenRefused(_logger, _id, fromClient ? "client" : "target", open.Type, destination ?? "", why!);
            await OpenFailureAsync(leg, open.Sender, reason, why!, ct).ConfigureAwait(false);
            return;
        }
        open = open with { Extra = extra.ToArray(), Destination = destination };
        if (fromClient && open.Type != "session")
        {
            // A forward the client opens is judged by the rules (a session is judged by what it asks to run).
            var access = new SshAccess(open.Type == "direct-tcpip" ? "direct-tcpip" : "direct-streamlocal", null, destination);
            if (Decide(access) is { Action: not PolicyAction.Allow } decision)
            {
                if (decision.Action == PolicyAction.Deny)
                {
                    await RefuseOpenAsync(open, decision.Refusal!, ct).ConfigureAwait(false);
                    return;
                }
                StartReview(access, decision.Verdict, null, async (refusal, token) =>
                {
                    if (refusal is null)
                    {
                        await CompleteOpenAsync(open, token).ConfigureAwait(false);
                    }
                    else
                    {
                        await RefuseOpenAsync(open, refusal, token).ConfigureAwait(false);
                    }
                });
                return;
            }
        }
        await CompleteOpenAsync(open, ct).ConfigureAwait(false);
    }

    /// <summary>A CHANNEL_OPEN Wire decided to pass on: its fields, and the type-specific data that goes with it unchanged.</summary>
    private sealed record PendingOpen(string Type, uint Sender, uint Window, uint MaxPacket, byte[]? Extra, bool FromClient)
    {
        public string? Destination { get; init; }
    }

    private ValueTask RefuseOpenAsync(PendingOpen open, string refusal, CancellationToken ct)
    {
        Log.OpenRefused(_logger, _id, "client", open.Type, open.Destination ?? "", refusal);
        return OpenFailureAsync(_client!, open.Sender, OpenAdministrativelyProhibited, refusal, ct);
    }

    /// <summary>Opens the channel on the other leg under Wire's own number (connecting to the target first if needed).</summary>
    private async ValueTask CompleteOpenAsync(PendingOpen open, CancellationToken ct)
    {
        if (open.FromClient && !await EnsureTargetAsync(ct).ConfigureAwait(false))
        {
            await OpenFailureAsync(_client!, open.Sender, OpenConnectFailed, $"wire: target {_targetOptions!.Name} is unreachable", ct).ConfigureAwait(false);
            return;
        }
        var channel = new SshChannel(_nextChannel++, open.Type, openedByClient: open.FromClient);
        _channels.Add(channel.LocalId, channel);
        var (from, to) = channel.Sides(open.FromClient);
        from.Id = open.Sender;
        from.Sending = new SshChannel.Direction(open.Window, Math.Clamp(open.MaxPacket, 1u, 256u * 1024));
        // The window in Wire's OPEN is what the other peer may send Wire.
        to.Granted = _options.ChannelBufferBytes;
        if (open.Destination is not null)
        {
            Log.Opened(_logger, _id, channel.LocalId, open.Type, open.Destination);
        }
        using var message = new SshWriter(64 + open.Extra!.Length);
        message.Byte(SshMessage.ChannelOpen).String(open.Type).UInt32(channel.LocalId).UInt32((uint)_options.ChannelBufferBytes)
            .UInt32((uint)_options.MaxChannelPacket).Raw(open.Extra);
        await Leg(!open.FromClient).SendAsync(message.ToArray(), ct).ConfigureAwait(false);
    }

    /// <summary>Why Wire refuses a channel the client opens (reason 0: it does not), and where a forward goes.</summary>
    private (uint Reason, string? Why, string? Destination) ClientOpenRefusal(string type, ReadOnlySpan<byte> extra)
    {
        switch (type)
        {
            case "session":
                return _noMoreSessions ? (OpenAdministrativelyProhibited, "wire: no more sessions on this connection", null) : (0, null, null);
            case "direct-tcpip":
            {
                var reader = new SshReader(extra);
                string host = reader.ReadUtf8();
                uint port = reader.ReadUInt32();
                string destination = HostPort(host, port);
                return Allows(SshForwarding.Local) ? (0, null, destination) : (OpenAdministrativelyProhibited, Disabled("TCP forwarding"), destination);
            }
            case "direct-streamlocal@openssh.com":
            {
                var reader = new SshReader(extra);
                string path = reader.ReadUtf8();
                return Allows(SshForwarding.StreamLocal) ? (0, null, path) : (OpenAdministrativelyProhibited, Disabled("Unix socket forwarding"), path);
            }
            default:
                return (OpenUnknownChannelType, $"wire: {type} channels are not supported", null);
        }
    }

    /// <summary>
    /// Why Wire refuses a channel the target opens: only connections the client asked for pass (to a port or socket it
    /// had the target listen on, to its agent or its X display once it offered them).
    /// </summary>
    private (uint Reason, string? Why, string? Destination) TargetOpenRefusal(string type, ReadOnlySpan<byte> extra)
    {
        switch (type)
        {
            case "forwarded-tcpip":
            {
                var reader = new SshReader(extra);
                string address = reader.ReadUtf8();
                uint port = reader.ReadUInt32();
                string destination = HostPort(address, port);
                return _remoteForwards.Contains((address, port))
                    ? (0, null, destination)
                    : (OpenAdministrativelyProhibited, "wire: the client did not ask to forward this port", destination);
            }
            case "forwarded-streamlocal@openssh.com":
            {
                var reader = new SshReader(extra);
                string path = reader.ReadUtf8();
                return _streamForwards.Contains(path)
                    ? (0, null, path)
                    : (OpenAdministrativelyProhibited, "wire: the client did not ask to forward this socket", path);
            }
            case "auth-agent@openssh.com":
                return _agentRequested ? (0, null, "agent") : (OpenAdministrativelyProhibited, "wire: the client did not offer its agent", null);
            case "x11":
                return _x11Requested ? (0, null, "x11") : (OpenAdministrativelyProhibited, "wire: the client did not offer its X display", null);
            default:
                return (OpenUnknownChannelType, $"wire: {type} channels are refused", null);
        }
    }

    private string Disabled(string what) => $"wire: {what} is not enabled for target {_targetOptions!.Name}";

    private static string HostPort(string host, uint port) =>
        host.Contains(':') ? $"[{host}]:{port}" : $"{host}:{port}";

    /// <summary>The peer that did not open the channel agreed: tell the opener, with Wire's number and window.</summary>
    private async ValueTask OnOpenConfirmationAsync(ReadOnlyMemory<byte> message, bool fromClient, CancellationToken ct)
    {
        var channel = Opening(message.Span, fromClient);
        var reader = new SshReader(message.Span[5..]);
        uint sender = reader.ReadUInt32();
        uint window = reader.ReadUInt32();
        uint maxPacket = reader.ReadUInt32();
        var (from, opener) = channel.Sides(fromClient);
        from.Id = sender;
        from.Sending = new SshChannel.Direction(window, Math.Clamp(maxPacket, 1u, 256u * 1024));
        opener.Granted = _options.ChannelBufferBytes;
        channel.Confirmed = true;
        using var confirm = new SshWriter(64);
        confirm.Byte(SshMessage.ChannelOpenConfirmation).UInt32(opener.Id).UInt32(channel.LocalId)
            .UInt32((uint)_options.ChannelBufferBytes).UInt32((uint)_options.MaxChannelPacket);
        await Leg(!fromClient).SendAsync(confirm.ToArray(), ct).ConfigureAwait(false);
    }

    /// <summary>The peer that did not open the channel refused it: the opener hears why.</summary>
    private async ValueTask OnOpenFailureAsync(ReadOnlyMemory<byte> message, bool fromClient, CancellationToken ct)
    {
        var channel = Opening(message.Span, fromClient);
        _channels.Remove(channel.LocalId);
        var opener = fromClient ? channel.Target : channel.Client;
        await Leg(!fromClient).SendAsync(Readdressed(message.Span, opener.Id), ct).ConfigureAwait(false);
    }

    private static ValueTask OpenFailureAsync(SshTransport to, uint recipient, uint reason, string description, CancellationToken ct)
    {
        using var failure = new SshWriter(128);
        failure.Byte(SshMessage.ChannelOpenFailure).UInt32(recipient).UInt32(reason).String(description).String("");
        return to.SendAsync(failure.ToArray(), ct);
    }

    // ---- requests ----

    /// <summary>
    /// A channel request from the client goes to the target, except agent and X11 forwarding where the target does not
    /// allow them, and what the rules deny; a request under review holds its channel (only that one) until decided.
    /// </summary>
    private async ValueTask OnClientChannelRequestAsync(ReadOnlyMemory<byte> message, CancellationToken ct)
    {
        var channel = Channel(message.Span, fromClient: true);
        var reader = new SshReader(message.Span[5..]);
        string request = reader.ReadAscii();
        bool wantReply = reader.ReadBoolean();
        Log.ChannelRequest(_logger, _id, channel.LocalId, request);

        var needed = request switch
        {
            "auth-agent-req@openssh.com" => SshForwarding.Agent,
            "x11-req" => SshForwarding.X11,
            _ => SshForwarding.None,
        };
        if (needed != SshForwarding.None && !Allows(needed))
        {
            Log.RequestRefused(_logger, _id, channel.LocalId, request, _targetOptions!.Name);
            await InOrderAsync(channel, wantReply ? SendReply(channel, SshMessage.ChannelFailure) : null, ct).ConfigureAwait(false);
            return;
        }

        if (AccessFor(request, ref reader) is { } access && Decide(access) is { Action: not PolicyAction.Allow } decision)
        {
            if (decision.Action == PolicyAction.Deny)
            {
                await RefuseRequestAsync(channel, request, wantReply, decision.Refusal!, ct).ConfigureAwait(false);
                return;
            }
            byte[] held = message.ToArray();
            channel.Held = new Queue<byte[]>();
            channel.ReviewCancel = CancellationTokenSource.CreateLinkedTokenSource(_ended.Token);
            StartReview(access, decision.Verdict, channel, async (refusal, token) =>
            {
                if (refusal is null)
                {
                    await RelayRequestAsync(channel, held, request, wantReply, token).ConfigureAwait(false);
                }
                else
                {
                    await RefuseRequestAsync(channel, request, wantReply, refusal, token).ConfigureAwait(false);
                }
            });
            return;
        }
        await RelayRequestAsync(channel, message, request, wantReply, ct).ConfigureAwait(false);
    }

    /// <summary>What the rules judge in a channel request (null for the rest: env, window-change, signal, break, ...).</summary>
    private SshAccess? AccessFor(string request, ref SshReader reader) => request switch
    {
        // Under a certificate's force-command, what runs is the forced command, whatever the client asked.
        "exec" or "shell" or "subsystem" when _forceCommand is not null => new SshAccess("exec", _forceCommand, null),
        "exec" => new SshAccess("exec", reader.ReadUtf8(), null),
        "shell" => new SshAccess("shell", null, null),
        "subsystem" => new SshAccess("subsystem", reader.ReadUtf8(), null),
        "pty-req" => new SshAccess("pty", null, null),
        "x11-req" => new SshAccess("x11", null, null),
        "auth-agent-req@openssh.com" => new SshAccess("agent", null, null),
        _ => null,
    };

    /// <summary>Passes a request on to the target (the forced command in place of exec, shell and subsystem).</summary>
    private async ValueTask RelayRequestAsync(SshChannel channel, ReadOnlyMemory<byte> message, string request, bool wantReply, CancellationToken ct)
    {
        _agentRequested |= request == "auth-agent-req@openssh.com";
        _x11Requested |= request == "x11-req";
        NoteRequest(channel, request, message.Span);
        byte[] relayed = _forceCommand is not null && request is "exec" or "shell" or "subsystem"
            ? Forced(channel.Target.Id, wantReply)
            : Readdressed(message.Span, channel.Target.Id);
        if (wantReply)
        {
            channel.RepliesToClient.Enqueue(null);
        }
        await _target!.SendAsync(relayed, ct).ConfigureAwait(false);
    }

    /// <summary>What recording and masking need from a request that passes: the terminal, its size, what runs.</summary>
    private void NoteRequest(SshChannel channel, string request, ReadOnlySpan<byte> message)
    {
        var reader = new SshReader(message[5..]);
        reader.ReadAscii();
        reader.ReadBoolean();
        switch (request)
        {
            case "pty-req":
            {
                string term = reader.ReadUtf8();
                int columns = (int)Math.Min(reader.ReadUInt32(), 10_000);
                int rows = (int)Math.Min(reader.ReadUInt32(), 10_000);
                channel.Pty = (term, columns, rows);
                break;
            }
            case "window-change":
            {
                int columns = (int)Math.Min(reader.ReadUInt32(), 10_000);
                int rows = (int)Math.Min(reader.ReadUInt32(), 10_000);
                if (channel.Pty is { } pty)
                {
                    channel.Pty = pty with { Columns = columns, Rows = rows };
                }
                channel.Cast?.Resize(columns, rows);
                break;
            }
            case "exec" or "shell" or "subsystem":
                string? command = _forceCommand ?? (request == "shell" ? null : reader.ReadUtf8());
                CommandStarting(channel, _forceCommand is null ? request : "exec", command);
                if (request == "shell" && _forceCommand is null && _enforcement is not null)
                {
                    channel.Lines = new Enforcement.ShellLineEditor(raw: channel.Pty is null);
                    channel.Screen = channel.Pty is null ? null : new Enforcement.TerminalLine();
                }
                break;
        }
    }

    /// <summary>
    /// Refuses a request in SSH's terms (DESIGN.md §4): an exec or shell "succeeds" with the reason on stderr, exit status
    /// 126, EOF and CLOSE, so clients show the reason rather than a broken connection; anything else gets CHANNEL_FAILURE.
    /// </summary>
    private ValueTask RefuseRequestAsync(SshChannel channel, string request, bool wantReply, string refusal, CancellationToken ct)
    {
        Log.Refused(_logger, _id, channel.LocalId, request, refusal);
        if (request is not ("exec" or "shell") && !(_forceCommand is not null && request == "subsystem"))
        {
            return InOrderAsync(channel, wantReply ? SendReply(channel, SshMessage.ChannelFailure) : null, ct);
        }
        channel.Refused = true;
        return InOrderAsync(channel, async token =>
        {
            if (wantReply)
            {
                await _client!.SendAsync(Simple(SshMessage.ChannelSuccess, channel.Client.Id), token).ConfigureAwait(false);
            }
            await SendDataAsync(_client!, channel.Client, dataType: 1, System.Text.Encoding.UTF8.GetBytes(refusal + "\r\n"), token).ConfigureAwait(false);
            using (var exit = new SshWriter(64))
            {
                exit.Byte(SshMessage.ChannelRequest).UInt32(channel.Client.Id).String("exit-status").Boolean(false).UInt32(126);
                await _client!.SendAsync(exit.ToArray(), token).ConfigureAwait(false);
            }
            channel.Client.Sending.EofPending = true;
            channel.Client.Sending.ClosePending = true;
            await FlushAsync(_client!, channel.Client, token).ConfigureAwait(false);
            // Nothing ran at the target: its end of the channel closes too.
            channel.Target.Sending.ClosePending = true;
            await FlushAsync(_target!, channel.Target, token).ConfigureAwait(false);
        }, ct);
    }

    /// <summary>The forced command in place of what the client asked to run, as OpenSSH's sshd does.</summary>
    private byte[] Forced(uint recipient, bool wantReply)
    {
        using var exec = new SshWriter(64 + _forceCommand!.Length);
        exec.Byte(SshMessage.ChannelRequest).UInt32(recipient).String("exec").Boolean(wantReply).String(_forceCommand);
        return exec.ToArray();
    }

    private Func<CancellationToken, ValueTask> SendReply(SshChannel channel, byte reply) =>
        token => _client!.SendAsync(Simple(reply, channel.Client.Id), token);

    /// <summary>
    /// Runs what Wire answers itself on a channel once the target's answers to the client's earlier requests went out, so
    /// the client hears back in the order it asked.
    /// </summary>
    private async ValueTask InOrderAsync(SshChannel channel, Func<CancellationToken, ValueTask>? answer, CancellationToken ct)
    {
        if (answer is null)
        {
            return;
        }
        if (channel.RepliesToClient.Count > 0)
        {
            channel.RepliesToClient.Enqueue(answer);
            return;
        }
        await answer(ct).ConfigureAwait(false);
    }

    /// <summary>The target answered the oldest request it was sent on this channel; Wire's own answers queued behind it follow.</summary>
    private async ValueTask OnTargetChannelReplyAsync(ReadOnlyMemory<byte> message, CancellationToken ct)
    {
        var channel = Channel(message.Span, fromClient: false);
        if (!channel.RepliesToClient.TryDequeue(out var waiting) || waiting is not null)
        {
            throw new SshProtocolException($"the target answered a request on channel {channel.LocalId} that it was not sent");
        }
        await _client!.SendAsync(Readdressed(message.Span, channel.Client.Id), ct).ConfigureAwait(false);
        while (channel.RepliesToClient.TryPeek(out var next) && next is not null)
        {
            channel.RepliesToClient.Dequeue();
            await next(ct).ConfigureAwait(false);
        }
    }

    // ---- flow control ----

    /// <summary>
    /// Data, window adjustments, EOF and CLOSE, the same for either leg: what one side sends goes toward the other side
    /// as that side's window allows; what one side lets through frees window for the other.
    /// </summary>
    private async ValueTask OnFlowMessageAsync(ReadOnlyMemory<byte> message, bool fromClient, CancellationToken ct)
    {
        var channel = Channel(message.Span, fromClient);
        var (from, to) = channel.Sides(fromClient);
        var (fromLeg, toLeg) = (Leg(fromClient), Leg(!fromClient));
        switch (message.Span[0])
        {
            case SshMessage.ChannelData or SshMessage.ChannelExtendedData:
            {
                var (dataType, data) = ReadData(message, from, fromClient);
                from.Granted -= data.Length;
                _live?.AddBytes(fromClient ? data.Length : 0, fromClient ? 0 : data.Length);
                if (fromClient && channel.Refused)
                {
                    // Stdin for a command Wire refused: nothing runs to read it.
                    return;
                }
                if (fromClient && channel.Lines is not null && dataType is null)
                {
                    await OnShellInputAsync(channel, data, ct).ConfigureAwait(false);
                    return;
                }
                long sent = !fromClient && (channel.OutputMasker is not null || channel.Cast is not null || channel.Screen is not null)
                    ? await SendOutputAsync(channel, dataType, data, ct).ConfigureAwait(false)
                    : await SendDataAsync(toLeg, to, dataType, data, ct).ConfigureAwait(false);
                if (_receivedAt != 0 && sent > 0)
                {
                    // The packet's data (what its window let through) left for the other peer: Wire's part of its delay.
                    WireDiagnostics.AddedLatency.Record(Stopwatch.GetElapsedTime(_receivedAt).TotalMilliseconds, ProtocolTag,
                        fromClient ? ToUpstreamTag : ToClientTag);
                }
                if (!fromClient)
                {
                    ReportMasked(channel);
                }
                await ConsumedAsync(fromLeg, from, sent, ct).ConfigureAwait(false);
                return;
            }
            case SshMessage.ChannelWindowAdjust:
            {
                var reader = new SshReader(message.Span[5..]);
                uint bytes = reader.ReadUInt32();
                reader.EnsureEnd();
                from.Sending.Window = Math.Min(from.Sending.Window + bytes, uint.MaxValue);
                long sent = await FlushAsync(fromLeg, from, ct).ConfigureAwait(false);
                await ConsumedAsync(toLeg, to, sent, ct).ConfigureAwait(false);
                return;
            }
            case SshMessage.ChannelEof when fromClient && channel.Refused:
                return;
            case SshMessage.ChannelEof:
                if (!fromClient && channel.OutputMasker is not null)
                {
                    await ConsumedAsync(fromLeg, from, await FlushOutputAsync(channel, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
                    ReportMasked(channel);
                }
                to.Sending.EofPending = true;
                await FlushAsync(toLeg, to, ct).ConfigureAwait(false);
                return;
            default:
                if (!fromClient && channel.OutputMasker is not null)
                {
                    await FlushOutputAsync(channel, ct).ConfigureAwait(false);
                }
                ReportMasked(channel);
                from.Closed = true;
                to.Sending.ClosePending = true;
                await FlushAsync(toLeg, to, ct).ConfigureAwait(false);
                if (channel.Finished)
                {
                    // Both CLOSEs went both ways: the peers may reuse their numbers, and so does Wire.
                    CommandEnded(channel);
                    _channels.Remove(channel.LocalId);
                }
                return;
        }
    }

    /// <summary>Sends what the window takes now (nothing while older data waits), queues the rest; the bytes sent.</summary>
    private static async ValueTask<long> SendDataAsync(SshTransport leg, SshChannel.Side to, uint? dataType, ReadOnlyMemory<byte> data,
        CancellationToken ct)
    {
        var direction = to.Sending;
        long sent = 0;
        if (direction.Waiting.Count == 0)
        {
            while (!data.IsEmpty && direction.Window > 0)
            {
                int n = (int)Math.Min(data.Length, Math.Min(direction.Window, direction.MaxPacket));
                await leg.SendChannelDataAsync(to.Id, dataType, data[..n], ct).ConfigureAwait(false);
                direction.Window -= n;
                sent += n;
                data = data[n..];
            }
        }
        if (!data.IsEmpty)
        {
            direction.Waiting.Enqueue(new SshChannel.Pending(dataType, data.ToArray()));
            direction.WaitingBytes += data.Length;
        }
        CountRelayed(leg, sent);
        return sent;
    }

    /// <summary>Sends waiting data as the window allows, then a pending EOF and CLOSE; the data bytes sent.</summary>
    private static async ValueTask<long> FlushAsync(SshTransport leg, SshChannel.Side to, CancellationToken ct)
    {
        var direction = to.Sending;
        long sent = 0;
        while (direction.Waiting.Count > 0 && direction.Window > 0)
        {
            var head = direction.Waiting.Peek();
            var rest = head.Data.AsMemory(direction.HeadOffset);
            int n = (int)Math.Min(rest.Length, Math.Min(direction.Window, direction.MaxPacket));
            await leg.SendChannelDataAsync(to.Id, head.DataType, rest[..n], ct).ConfigureAwait(false);
            direction.Window -= n;
            direction.WaitingBytes -= n;
            sent += n;
            direction.HeadOffset += n;
            if (direction.HeadOffset == head.Data.Length)
            {
                direction.Waiting.Dequeue();
                direction.HeadOffset = 0;
            }
        }
        CountRelayed(leg, sent);
        if (direction.Waiting.Count == 0)
        {
            if (direction.EofPending)
            {
                direction.EofPending = false;
                await leg.SendAsync(Simple(SshMessage.ChannelEof, to.Id), ct).ConfigureAwait(false);
            }
            if (direction.ClosePending && !to.CloseSent)
            {
                direction.ClosePending = false;
                to.CloseSent = true;
                await leg.SendAsync(Simple(SshMessage.ChannelClose, to.Id), ct).ConfigureAwait(false);
            }
        }
        return sent;
    }

    /// <summary>Channel data sent on <paramref name="leg"/> (the client's leg is the one where Wire is the server), for <c>wire.bytes</c>.</summary>
    private static void CountRelayed(SshTransport leg, long bytes)
    {
        if (bytes > 0)
        {
            WireDiagnostics.BytesRelayed.Add(bytes, ProtocolTag, leg.IsServer ? ToClientTag : ToUpstreamTag);
        }
    }

    /// <summary>Adds the values the channel's maskers masked since the last report to <c>wire.masked</c> (one add, their sum).</summary>
    private static void ReportMasked(SshChannel channel)
    {
        if (channel.OutputMasker is not null && channel.TakeMasked() is var masked and > 0)
        {
            WireDiagnostics.Masked.Add(masked, ProtocolTag);
        }
    }

    /// <summary>Data from one side left toward the other: grant that side as much again, in steps of half the buffer.</summary>
    private async ValueTask ConsumedAsync(SshTransport leg, SshChannel.Side side, long bytes, CancellationToken ct)
    {
        side.Consumed += bytes;
        if (side.Consumed >= _options.ChannelBufferBytes / 2 && !side.Closed)
        {
            byte[] adjust = new byte[9];
            adjust[0] = SshMessage.ChannelWindowAdjust;
            BinaryPrimitives.WriteUInt32BigEndian(adjust.AsSpan(1), side.Id);
            BinaryPrimitives.WriteUInt32BigEndian(adjust.AsSpan(5), (uint)side.Consumed);
            await leg.SendAsync(adjust, ct).ConfigureAwait(false);
            side.Granted += side.Consumed;
            side.Consumed = 0;
        }
    }

    // ---- lookups ----

    /// <summary>The open channel a message from one peer names; a protocol error when it names none.</summary>
    private SshChannel Channel(ReadOnlySpan<byte> message, bool fromClient)
    {
        var channel = Named(message, fromClient);
        if (!channel.Confirmed || (fromClient ? channel.Client : channel.Target).Closed)
        {
            throw new SshProtocolException($"the {(fromClient ? "client" : "target")} used channel {channel.LocalId}, which is not open");
        }
        return channel;
    }

    /// <summary>The channel a confirmation or refusal answers: opened by the other peer, not answered yet.</summary>
    private SshChannel Opening(ReadOnlySpan<byte> message, bool fromClient)
    {
        var channel = Named(message, fromClient);
        if (channel.Confirmed || channel.OpenedByClient == fromClient)
        {
            throw new SshProtocolException($"the {(fromClient ? "client" : "target")} answered an open of channel {channel.LocalId} it was not asked");
        }
        return channel;
    }

    private SshChannel Named(ReadOnlySpan<byte> message, bool fromClient)
    {
        if (message.Length < 5)
        {
            SshProtocolException.Throw("a channel message without a channel number");
        }
        uint local = BinaryPrimitives.ReadUInt32BigEndian(message[1..]);
        if (!_channels.TryGetValue(local, out var channel))
        {
            throw new SshProtocolException($"the {(fromClient ? "client" : "target")} used channel {local}, which is not open");
        }
        return channel;
    }

    /// <summary>A request's name and whether it wants a reply (global requests and, after the channel number, channel requests).</summary>
    private static (string Request, bool WantReply) RequestHead(ReadOnlySpan<byte> message)
    {
        var reader = new SshReader(message);
        return (reader.ReadAscii(), reader.ReadBoolean());
    }

    private static (uint? DataType, ReadOnlyMemory<byte> Data) ReadData(ReadOnlyMemory<byte> message, SshChannel.Side from, bool fromClient)
    {
        var reader = new SshReader(message.Span[5..]);
        uint? dataType = message.Span[0] == SshMessage.ChannelExtendedData ? reader.ReadUInt32() : null;
        int start = 5 + (dataType is null ? 0 : 4) + 4;
        int length = reader.ReadString().Length;
        reader.EnsureEnd();
        if (length > from.Granted)
        {
            SshProtocolException.Throw($"the {(fromClient ? "client" : "target")} sent more data than its window allows");
        }
        return (dataType, message.Slice(start, length));
    }
}
