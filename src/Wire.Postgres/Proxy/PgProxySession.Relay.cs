using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Net.Sockets;
using Wire.Enforcement;
using Wire.Enforcement.Diagnostics;
using Wire.Enforcement.Transport;
using Wire.Postgres.Enforcement;
using Wire.Postgres.Protocol;

namespace Wire.Postgres.Proxy;

internal sealed partial class PgProxySession
{
    private static readonly KeyValuePair<string, object?> ProtocolTag = new("network.protocol.name", "postgresql");
    private static readonly KeyValuePair<string, object?> ToUpstreamTag = new("wire.direction", "to_upstream");
    private static readonly KeyValuePair<string, object?> ToClientTag = new("wire.direction", "to_client");

    // Written by one pump, read by the session only after that pump has ended.
    private bool _upstreamMidFrame;
    private bool _clientMidFrame;
    private byte _lastBackendType;
    private string? _violation;

    /// <summary>Watches for a session that carries nothing (<c>limits.idleTimeout</c>); null when there is no idle timeout.</summary>
    private IdleWatch? _idle;

    private enum PumpEnd
    {
        SourceClosed,
        Terminated,
        Violation,
        DestinationGone,
        Cancelled,
        Unsupported,
    }

    /// <summary>
    /// Relays frames both ways until either side ends, then closes the other side the way its
    /// protocol expects. Each pipe writer has exactly one writer at a time: the pump that feeds it,
    /// and only after that pump has stopped, this method.
    /// </summary>
    private async Task<PgSessionEndReason> RelayAsync(CancellationToken ct)
    {
        var upstream = _upstream!;
        // Plain connections relay on their socket pipes; TLS ones on pipes over their SslStream.
        using var clientTlsPipe = _clientTls is not null ? WirePipes.FromStream(_clientTls, "pg-client-tls", Options.Limits.BufferBytes) : null;
        using var upstreamTlsPipe = upstream.IsTls ? WirePipes.FromStream(upstream.Stream, "pg-upstream-tls", Options.Limits.BufferBytes) : null;
        var clientPipe = clientTlsPipe ?? _clientPipe;
        var upstreamPipe = upstreamTlsPipe ?? upstream.Pipe;

        // A plain relay's work per message is a scan and a send: run it where the data arrives. TLS legs
        // keep decrypting off the epoll loop.
        if (clientTlsPipe is null)
        {
            _clientPipe.RunReaderInline();
        }

        if (upstreamTlsPipe is null)
        {
            upstream.Pipe.RunReaderInline();
        }
        // An administrator's termination and the idle timeout stop both pumps like a shutdown does; the end is then told
        // apart below.
        var terminated = _live?.Terminated ?? CancellationToken.None;
        using var idleCts = new CancellationTokenSource();
        using var idle = _server.Options.Connections.IdleTimeout > TimeSpan.Zero
            ? new IdleWatch(_server.Options.Connections.IdleTimeout, () => idleCts.Cancel())
            : null;
        _idle = idle;
        using var clientPumpCts = CancellationTokenSource.CreateLinkedTokenSource(ct, terminated, idleCts.Token);
        using var upstreamPumpCts = CancellationTokenSource.CreateLinkedTokenSource(ct, terminated, idleCts.Token);

        PipeReader clientIn = clientPipe.Pipe.Input;
        PipeWriter clientOut = clientPipe.Pipe.Output;
        PipeReader upstreamIn = upstreamPipe.Pipe.Input;
        PipeWriter upstreamOut = upstreamPipe.Pipe.Output;

        Task<PumpEnd> fromClient, fromUpstream;
        if (_server.Enforcement is { } enforcement)
        {
            bool scs = !upstream.ServerParameters.TryGetValue("standard_conforming_strings", out var value) || value == "on";
            _recorder = StartRecorder(enforcement);
            _enforcer = new PgEnforcer(enforcement, _identity!, _target!.Name, Id.ToString(CultureInfo.InvariantCulture), scs, _recorder,
                _server.CatalogFor(_target))
            {
                Live = _live,
            };
            _server.CancelRegistry.SetLocalCancel(_wireProcessId, CancelReview);
            fromClient = EnforcingPumpAsync(clientIn, upstreamOut, upstreamPipe.Pipe as IDirectSender, fromClient: true, clientPumpCts.Token);
            fromUpstream = EnforcingPumpAsync(upstreamIn, clientOut, clientPipe.Pipe as IDirectSender, fromClient: false, upstreamPumpCts.Token);
        }
        else
        {
            fromClient = PumpAsync(clientIn, upstreamOut, upstreamPipe.Pipe as IDirectSender, fromClient: true, clientPumpCts.Token);
            fromUpstream = PumpAsync(upstreamIn, clientOut, clientPipe.Pipe as IDirectSender, fromClient: false, upstreamPumpCts.Token);
        }

        PgSessionEndReason reason;
        if (await Task.WhenAny(fromClient, fromUpstream).ConfigureAwait(false) == fromClient)
        {
            PumpEnd end = fromClient.Result;
            switch (end)
            {
                case PumpEnd.Terminated:
                    // The server closes after Terminate; let the last bytes through, briefly.
                    await WaitOrCancelAsync(fromUpstream, upstreamPumpCts, TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                    reason = PgSessionEndReason.ClientTerminated;
                    break;
                case PumpEnd.SourceClosed:
                    // The client vanished: end the server's work at once (a running query is abandoned).
                    await upstreamPumpCts.CancelAsync().ConfigureAwait(false);
                    await fromUpstream.ConfigureAwait(false);
                    await TryTerminateUpstreamAsync(upstreamOut).ConfigureAwait(false);
                    reason = PgSessionEndReason.ClientClosed;
                    break;
                case PumpEnd.Violation:
                    Log.ProtocolViolation(_logger, Id, "client", _violation!);
                    await upstreamPumpCts.CancelAsync().ConfigureAwait(false);
                    await fromUpstream.ConfigureAwait(false);
                    await TrySendFatalAsync(clientOut, _clientMidFrame, PgSqlState.ProtocolViolation, _violation!).ConfigureAwait(false);
                    await TryTerminateUpstreamAsync(upstreamOut).ConfigureAwait(false);
                    reason = PgSessionEndReason.ClientProtocolViolation;
                    break;
                case PumpEnd.DestinationGone:
                    Log.IoError(_logger, Id, "server", "the server connection closed while sending to it");
                    await WaitOrCancelAsync(fromUpstream, upstreamPumpCts, TimeSpan.FromSeconds(2)).ConfigureAwait(false);
                    await TrySendFatalAsync(clientOut, _clientMidFrame, PgSqlState.ConnectionFailure, "the connection to the server was lost").ConfigureAwait(false);
                    reason = PgSessionEndReason.UpstreamError;
                    break;
                default:
                    await upstreamPumpCts.CancelAsync().ConfigureAwait(false);
                    await fromUpstream.ConfigureAwait(false);
                    reason = await EndCancelledAsync(clientOut, upstreamOut).ConfigureAwait(false);
                    break;
            }
        }
        else
        {
            PumpEnd end = fromUpstream.Result;
            await clientPumpCts.CancelAsync().ConfigureAwait(false);
            await fromClient.ConfigureAwait(false);
            switch (end)
            {
                case PumpEnd.SourceClosed:
                    // A server that ends a session says why first (FATAL ErrorResponse); if it
                    // died without a word, say it for it.
                    if (_lastBackendType != (byte)'E')
                    {
                        await TrySendFatalAsync(clientOut, _clientMidFrame, PgSqlState.ConnectionFailure, "the server closed the connection unexpectedly").ConfigureAwait(false);
                    }

                    reason = PgSessionEndReason.UpstreamClosed;
                    break;
                case PumpEnd.Violation:
                    Log.ProtocolViolation(_logger, Id, "server", _violation!);
                    await TrySendFatalAsync(clientOut, _clientMidFrame, PgSqlState.ProtocolViolation, "the server sent malformed data: " + _violation).ConfigureAwait(false);
                    reason = PgSessionEndReason.UpstreamProtocolViolation;
                    break;
                case PumpEnd.DestinationGone:
                    await TryTerminateUpstreamAsync(upstreamOut).ConfigureAwait(false);
                    reason = PgSessionEndReason.ClientError;
                    break;
                case PumpEnd.Unsupported:
                    Log.ProtocolViolation(_logger, Id, "client", "switched to a client encoding Wire cannot read safely");
                    await TrySendFatalAsync(clientOut, _clientMidFrame, PgSqlState.FeatureNotSupported,
                        "this client_encoding is not supported through Wire (its characters can contain ASCII bytes); use UTF8").ConfigureAwait(false);
                    await TryTerminateUpstreamAsync(upstreamOut).ConfigureAwait(false);
                    reason = PgSessionEndReason.ClientProtocolViolation;
                    break;
                default:
                    reason = await EndCancelledAsync(clientOut, upstreamOut).ConfigureAwait(false);
                    break;
            }
        }

        await clientOut.CompleteAsync().ConfigureAwait(false);
        await upstreamOut.CompleteAsync().ConfigureAwait(false);
        await clientIn.CompleteAsync().ConfigureAwait(false);
        await upstreamIn.CompleteAsync().ConfigureAwait(false);
        return reason;
    }

    /// <summary>
    /// Both pumps were stopped from outside: an administrator terminated the session (DESIGN.md §4: 57P01 FATAL) or the
    /// gateway is shutting down (57P01 too, with its own message). The client is told, the server gets Terminate.
    /// </summary>
    private async Task<PgSessionEndReason> EndCancelledAsync(PipeWriter clientOut, PipeWriter upstreamOut)
    {
        PgSessionEndReason reason;
        if (_live is { Terminated.IsCancellationRequested: true } live)
        {
            string why = live.TerminationReason ?? "";
            Log.Terminated(_logger, Id, _identity!.Subject, _target!.Name, why);
            await TrySendFatalAsync(clientOut, _clientMidFrame, PgSqlState.AdminShutdown,
                "terminating connection: " + why).ConfigureAwait(false);
            reason = PgSessionEndReason.Terminated;

            // A statement still running on the server would hold its backend (and its locks) until it finished: cancel it
            // first, so the Terminate below is read at once. A cancel for an idle backend does nothing.
            if (_upstream is { ProcessId: not 0 } upstream)
            {
                try
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                    await _server.SendCancelRequestAsync(upstream.RemoteEndPoint, upstream.ProcessId, upstream.SecretKey, timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    Log.IoError(_logger, Id, "server", "the cancel request timed out");
                }
            }
        }
        else if (_idle is { Fired: true })
        {
            var timeout = _server.Options.Connections.IdleTimeout;
            Log.IdleEnded(_logger, Id, _identity!.Subject, _target!.Name, timeout);
            await TrySendFatalAsync(clientOut, _clientMidFrame, PgSqlState.IdleSessionTimeout,
                $"terminating connection: idle for more than {timeout:c} (postgres.limits.idleTimeout)").ConfigureAwait(false);
            reason = PgSessionEndReason.Idle;
        }
        else
        {
            await TrySendFatalAsync(clientOut, _clientMidFrame, PgSqlState.AdminShutdown, "terminating connection because the gateway is shutting down")
                .ConfigureAwait(false);
            reason = PgSessionEndReason.Shutdown;
        }

        await TryTerminateUpstreamAsync(upstreamOut).ConfigureAwait(false);
        return reason;
    }

    /// <summary>
    /// Forwards whole frames from <paramref name="source"/> to <paramref name="destination"/>: sent
    /// straight from the receive buffer when the destination socket takes them (no copy), otherwise
    /// queued with one copy and one flush per read batch. A frame that is not fully buffered is streamed: its
    /// available bytes go out at once and the rest follows as it arrives, so no frame is buffered
    /// whole. Never throws: the outcome says how it ended.
    /// </summary>
    private async Task<PumpEnd> PumpAsync(PipeReader source, PipeWriter destination, IDirectSender? direct, bool fromClient, CancellationToken ct)
    {
        var scanner = new PgFrameScanner(frontend: fromClient, Options.Limits.MaxFrameBytes);
        var tag = fromClient ? ToUpstreamTag : ToClientTag;
        bool reading = false;

        using var registration = RegisterPumpCancellation(ct, source, destination);
        try
        {
            while (true)
            {
                reading = true;
                ReadResult result = await source.ReadAsync().ConfigureAwait(false);
                reading = false;
                if (result.IsCanceled)
                {
                    return PumpEnd.Cancelled;
                }
                _idle?.Touch();

                long started = WireDiagnostics.AddedLatency.Enabled ? Stopwatch.GetTimestamp() : 0;
                ReadOnlySequence<byte> buffer = result.Buffer;
                PgScanStatus status = scanner.Scan(buffer, out SequencePosition consumed);
                bool terminated = status == PgScanStatus.Terminated;
                string? violation = status == PgScanStatus.Violation ? scanner.ViolationReason : null;

                ReadOnlySequence<byte> forward = buffer.Slice(buffer.Start, consumed);
                long forwardLength = forward.Length;
                bool queued = false;
                if (forwardLength > 0)
                {
                    // Zero copies when the socket takes it all at once; otherwise the rest is queued (one copy).
                    long sent = direct?.TrySendDirect(forward) ?? 0;
                    if (sent < forwardLength)
                    {
                        foreach (var segment in forward.Slice(sent))
                        {
                            destination.Write(segment.Span);
                        }

                        queued = true;
                    }
                }

                bool sourceDone = result.IsCompleted;
                bool leftover = !buffer.Slice(consumed).IsEmpty;
                source.AdvanceTo(consumed, buffer.End);

                if (fromClient)
                {
                    _upstreamMidFrame = scanner.MidFrame;
                }
                else
                {
                    _clientMidFrame = scanner.MidFrame;
                    _lastBackendType = scanner.LastType;
                }

                if (forwardLength > 0)
                {
                    WireDiagnostics.BytesRelayed.Add(forwardLength, ProtocolTag, tag);
                    _live?.AddBytes(fromClient ? forwardLength : 0, fromClient ? 0 : forwardLength);
                }

                if (queued)
                {
                    if (AfterFlush(await destination.FlushAsync().ConfigureAwait(false)) is { } flushEnd)
                    {
                        return flushEnd;
                    }
                }

                if (started != 0 && forwardLength > 0)
                {
                    WireDiagnostics.AddedLatency.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, ProtocolTag, tag);
                }

                if (violation is not null)
                {
                    _violation = violation;
                    return PumpEnd.Violation;
                }

                if (terminated)
                {
                    return PumpEnd.Terminated;
                }

                if (sourceDone)
                {
                    if (leftover && fromClient)
                    {
                        // The client closed in the middle of a frame: the server must not get a Terminate inside it.
                        _upstreamMidFrame = _upstreamMidFrame || scanner.MidFrame;
                    }

                    return PumpEnd.SourceClosed;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return PumpEnd.Cancelled;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Pipelines surface a reset connection on either side as one of these; the side that failed decides the end
            // (a server reset mid-result is the server's failure, told to the client as 08006, not the client's).
            return PumpFailed(fromClient, reading, ex);
        }
    }

    /// <summary>How a pump ends on an I/O error: reading its source means the source failed, else its destination did.</summary>
    private PumpEnd PumpFailed(bool fromClient, bool reading, Exception ex)
    {
        Log.IoError(_logger, Id, fromClient == reading ? "client" : "server", ex.Message);
        return reading ? PumpEnd.SourceClosed : PumpEnd.DestinationGone;
    }

    /// <summary>
    /// One registration per pump instead of one per read and flush: cancelling wakes a pending read or flush, which
    /// then reports IsCanceled.
    /// </summary>
    private static CancellationTokenRegistration RegisterPumpCancellation(CancellationToken ct, PipeReader source, PipeWriter destination) =>
        ct.UnsafeRegister(
            static state =>
            {
                var (reader, writer) = ((PipeReader, PipeWriter))state!;
                reader.CancelPendingRead();
                writer.CancelPendingFlush();
            },
            (source, destination));

    /// <summary>How a pump ends after a flush: the destination closed, the flush was cancelled, or (null) it goes on.</summary>
    private static PumpEnd? AfterFlush(FlushResult flush) =>
        flush.IsCompleted ? PumpEnd.DestinationGone : flush.IsCanceled ? PumpEnd.Cancelled : null;

    private static async Task WaitOrCancelAsync(Task pump, CancellationTokenSource cts, TimeSpan grace)
    {
        if (await Task.WhenAny(pump, Task.Delay(grace)).ConfigureAwait(false) != pump)
        {
            await cts.CancelAsync().ConfigureAwait(false);
        }

        await pump.ConfigureAwait(false);
    }

    private async Task TrySendFatalAsync(PipeWriter clientOut, bool midFrame, string sqlState, string message)
    {
        if (midFrame)
        {
            // Half a frame went out: an error now would be read as its rest. Closing is all that is left.
            return;
        }

        try
        {
            PgMessageWriter.WriteErrorResponse(clientOut, "FATAL", sqlState, message);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await clientOut.FlushAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            Log.IoError(_logger, Id, "client", ex.Message);
        }
    }

    private async Task TryTerminateUpstreamAsync(PipeWriter upstreamOut)
    {
        if (_upstreamMidFrame)
        {
            return;
        }

        try
        {
            PgMessageWriter.WriteTerminate(upstreamOut);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await upstreamOut.FlushAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            Log.IoError(_logger, Id, "server", ex.Message);
        }
    }
}
