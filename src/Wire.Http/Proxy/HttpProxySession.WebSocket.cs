using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using System.Text;
using Wire.Enforcement.Diagnostics;
using Wire.Enforcement.Masking;
using Wire.Enforcement.Recording;
using Wire.Enforcement.Sessions;
using Wire.Enforcement.Transport;
using Wire.Http.Enforcement;
using Wire.Http.Protocol;

namespace Wire.Http.Proxy;

internal sealed partial class HttpProxySession
{
    // Kubernetes exec/attach channels (the first byte of each message): 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize.
    private const byte Stdin = 0;
    private const byte Stdout = 1;
    private const byte Stderr = 2;

    /// <summary>
    /// Whether the upgraded connection is a Kubernetes exec, attach or port-forward stream whose frames Wire reads
    /// (<c>v4.channel.k8s.io</c>, <c>v5.channel.k8s.io</c>, <c>channel.k8s.io</c>; the base64 variant is passed as is).
    /// </summary>
    private bool IsKubernetesChannel()
    {
        var protocol = _response.First("sec-websocket-protocol"u8).Trim((byte)' ');
        return protocol.EndsWith("channel.k8s.io"u8) && !protocol.StartsWith("base64."u8);
    }

    /// <summary>
    /// After 101 on a Kubernetes channel stream: frames are parsed both ways (RFC 6455 §5); stdout and stderr pass
    /// through the detectors in place (lengths kept), stdin is recorded. Either side closing ends both.
    /// </summary>
    private Task InspectedTunnelAsync(WirePipe upstream, ContentScanner? scanner, ISessionRecorder? recorder, CancellationToken ct) => BothWaysAsync(
        token => PumpFramesAsync(_client!.Pipe.Input, upstream.Pipe.Output, fromClient: true, null, recorder, _live, _tunnelIdle, token),
        token => PumpFramesAsync(upstream.Pipe.Input, _client!.Pipe.Output, fromClient: false, scanner, null, _live, _tunnelIdle, token), ct);

    private struct FrameState
    {
        public long Remaining;
        public bool Control;
        public uint MaskKey;
        public long Offset;
        public int Channel; // -1 until the first payload byte of a data message
        public long Masked; // detector hits since the last read, for wire.masked
    }

    private static async Task PumpFramesAsync(PipeReader from, PipeWriter to, bool fromClient, ContentScanner? scanner, ISessionRecorder? recorder,
        LiveSession? live, IdleWatch? idle, CancellationToken ct)
    {
        var state = new FrameState { Channel = -1 };
        var stdin = recorder is null ? null : new ArrayBufferWriter<byte>(256);
        while (true)
        {
            var result = await from.ReadAsync(ct).ConfigureAwait(false);
            idle?.Touch();
            long started = LatencyStart();
            var buffer = result.Buffer;
            var reader = new SequenceReader<byte>(buffer);
            long relayed = 0;
            try
            {
                ReadFrames(ref reader, ref state, fromClient, scanner, stdin, recorder);
                relayed = reader.Consumed;
                foreach (var segment in buffer.Slice(0, reader.Position))
                {
                    to.Write(segment.Span);
                }
                live?.AddBytes(fromClient ? reader.Consumed : 0, fromClient ? 0 : reader.Consumed);
            }
            finally
            {
                from.AdvanceTo(reader.Position, buffer.End);
            }
            var flush = await to.FlushAsync(ct).ConfigureAwait(false);
            Relayed(relayed, started, toClient: !fromClient);
            if (state.Masked > 0)
            {
                WireDiagnostics.Masked.Add(state.Masked, ProtocolTag);
                state.Masked = 0;
            }
            if (result.IsCompleted || flush.IsCompleted)
            {
                await to.CompleteAsync().ConfigureAwait(false);
                return;
            }
        }
    }

    private static void ReadFrames(ref SequenceReader<byte> reader, ref FrameState state, bool fromClient, ContentScanner? scanner,
        ArrayBufferWriter<byte>? stdin, ISessionRecorder? recorder)
    {
        while (true)
        {
            if (state.Remaining == 0)
            {
                if (!Http1WebSocketFrameHeader.TryRead(ref reader, fromClient, out var header))
                {
                    return;
                }
                state.Remaining = header.PayloadLength;
                state.Control = header.IsControl;
                state.MaskKey = header.Masked ? header.MaskKey : 0;
                state.Offset = 0;
                if (!header.IsControl && header.Opcode != Http1WebSocketOpcode.Continuation)
                {
                    state.Channel = -1;
                }
                if (state.Remaining == 0)
                {
                    if (header.Fin && !header.IsControl)
                    {
                        FlushStdin(stdin, recorder);
                    }
                    continue;
                }
            }
            if (reader.End)
            {
                return;
            }
            var unread = reader.UnreadSpan;
            int take = (int)Math.Min(unread.Length, state.Remaining);
            // The payload is rewritten in the receive buffer itself (masking keeps every length), as the PostgreSQL
            // pump does with DataRows.
            var payload = MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(unread), take);
            if (!state.Control)
            {
                Payload(payload, ref state, fromClient, scanner, stdin);
            }
            reader.Advance(take);
            state.Remaining -= take;
            state.Offset += take;
            if (state.Remaining == 0 && !state.Control)
            {
                FlushStdin(stdin, recorder);
            }
        }
    }

    private static void Payload(Span<byte> payload, ref FrameState state, bool fromClient, ContentScanner? scanner, ArrayBufferWriter<byte>? stdin)
    {
        if (fromClient)
        {
            if (stdin is null)
            {
                return;
            }
            // Client frames are masked: unmask a copy to read the channel and the keystrokes; the frame goes on as sent.
            Span<byte> key = stackalloc byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(key, state.MaskKey);
            for (int i = 0; i < payload.Length; i++)
            {
                byte b = (byte)(payload[i] ^ key[(int)((state.Offset + i) & 3)]);
                if (state.Channel < 0)
                {
                    state.Channel = b;
                    continue;
                }
                if (state.Channel == Stdin)
                {
                    stdin.GetSpan(1)[0] = b;
                    stdin.Advance(1);
                }
            }
            return;
        }

        int start = 0;
        if (state.Channel < 0)
        {
            state.Channel = payload[0];
            start = 1;
        }
        if (scanner is not null && state.Channel is Stdout or Stderr && payload.Length > start)
        {
            state.Masked += scanner.MaskInPlace(payload[start..]);
        }
    }

    private static void FlushStdin(ArrayBufferWriter<byte>? stdin, ISessionRecorder? recorder)
    {
        if (stdin is null || recorder is null || stdin.WrittenCount == 0)
        {
            return;
        }
        recorder.TryRecord(new KubernetesStreamEvent(Encoding.UTF8.GetString(stdin.WrittenSpan)));
        stdin.ResetWrittenCount();
    }
}
