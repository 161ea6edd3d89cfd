using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.IO.Pipelines;
using System.Net.Sockets;
using Wire.Enforcement;
using Wire.Enforcement.Approvals;
using Wire.Enforcement.Recording;
using Wire.Enforcement.Diagnostics;
using Wire.Enforcement.Transport;
using Wire.Postgres.Enforcement;
using Wire.Postgres.Protocol;

namespace Wire.Postgres.Proxy;

internal sealed partial class PgProxySession
{
    private PgEnforcer? _enforcer;
    private ISessionRecorder? _recorder;
    private CancellationTokenSource? _reviewCts;

    /// <summary>The id of this session's recording: unique across restarts, sortable by start time.</summary>
    private string RecordingId { get; } = RecordingSessions.NewId();

    private ISessionRecorder? StartRecorder(WireEnforcement enforcement)
    {
        if (enforcement.Recorder is not { } factory)
        {
            return null;
        }
        var start = new SessionStartEvent("postgres", _identity!.Subject, _identity.Groups, _clientEndPoint.ToString(), _target!.Name, _clientTls is not null)
        {
            Database = _target.Name,
            User = _identity.Subject,
            Grant = _live?.Grant,
        };
        return factory.Start(RecordingId, start);
    }

    private Task CompleteRecordingAsync(PgSessionEndReason reason) => RecordingSessions.CompleteAsync(_recorder,
        reason == PgSessionEndReason.Terminated ? "session " + _live?.TerminationReason : reason.ToString());

    /// <summary>
    /// The enforcing pump (DESIGN.md §2): like <see cref="PumpAsync"/> it forwards whole frames, but every message the
    /// enforcer judges is buffered whole and handed to it first. Runs of forwarded frames go out as one copy; a
    /// dropped or replaced message splits the run; a message held for review pauses this direction only.
    /// </summary>
    private async Task<PumpEnd> EnforcingPumpAsync(PipeReader source, PipeWriter destination, IDirectSender? direct, bool fromClient,
        CancellationToken ct)
    {
        var enforcer = _enforcer!;
        var tag = fromClient ? ToUpstreamTag : ToClientTag;
        var state = new BatchState { Direct = direct };
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
                var batch = ProcessBatch(enforcer, buffer, destination, fromClient, ref state);
                long written = batch.Written;
                if (batch.LargeLength > 0)
                {
                    // Taken out of the pipe (which advances it), then judged like any other.
                    reading = true;
                    var frame = await CollectLargeFrameAsync(source, buffer, batch.Consumed, batch.LargeLength, state.Scratch, ct).ConfigureAwait(false);
                    reading = false;
                    state.Scratch = frame;
                    try
                    {
                        int decision = Judge(enforcer, fromClient, frame[0], frame.AsSpan(5, batch.LargeLength - 5), out batch.Held);
                        if (decision is 4 or 16 + (int)PgBackendAction.NeedCatalog)
                        {
                            await ResolveCatalogAsync(enforcer, ct).ConfigureAwait(false);
                            decision = Judge(enforcer, fromClient, frame[0], frame.AsSpan(5, batch.LargeLength - 5), out batch.Held);
                            if (decision is 4 or 16 + (int)PgBackendAction.NeedCatalog)
                            {
                                throw new ProtocolViolationException("the catalog lookup did not settle");
                            }
                        }
                        if (batch.Held is not null)
                        {
                            batch.HeldFrame = frame;
                            batch.HeldLength = batch.LargeLength;
                            state.Scratch = null;
                        }
                        else
                        {
                            written += ApplyDecision(destination, enforcer, decision, frame.AsSpan(0, batch.LargeLength));
                            batch.End = decision == 16 + (int)PgBackendAction.UnsupportedEncoding ? PumpEnd.Unsupported : null;
                        }
                    }
                    catch (ProtocolViolationException ex)
                    {
                        _violation = ex.Message;
                        batch.End = PumpEnd.Violation;
                    }
                }
                else
                {
                    // After a held message or a catalog wait the rest of the batch was not looked at: the next read must
                    // return it at once.
                    bool revisit = batch.Held is not null || batch.NeedCatalog;
                    source.AdvanceTo(batch.Consumed, revisit ? batch.Consumed : buffer.End);
                }
                SetMidFrame(fromClient, state.StreamRemaining > 0);
                if (!fromClient && enforcer.TakeMasked() is var masked and > 0)
                {
                    WireDiagnostics.Masked.Add(masked, ProtocolTag);
                }

                if (written > 0)
                {
                    WireDiagnostics.BytesRelayed.Add(written, ProtocolTag, tag);
                    _live?.AddBytes(fromClient ? written : 0, fromClient ? 0 : written);
                    // Runs the socket took at once went out directly; only what was queued needs the flush.
                    if ((!destination.CanGetUnflushedBytes || destination.UnflushedBytes > 0)
                        && AfterFlush(await destination.FlushAsync().ConfigureAwait(false)) is { } flushEnd)
                    {
                        return flushEnd;
                    }
                    if (started != 0)
                    {
                        WireDiagnostics.AddedLatency.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, ProtocolTag, tag);
                    }
                }

                if (batch.NeedCatalog)
                {
                    await ResolveCatalogAsync(enforcer, ct).ConfigureAwait(false);
                    continue;
                }

                if (batch.Held is { } held)
                {
                    var outcome = await ReviewAsync(enforcer, held, ct).ConfigureAwait(false);
                    if (outcome == PgFrontendAction.Forward)
                    {
                        destination.Write(batch.HeldFrame.AsSpan(0, batch.HeldLength));
                    }
                    else
                    {
                        enforcer.WriteReplacement(destination);
                    }
                    ArrayPool<byte>.Shared.Return(batch.HeldFrame!);
                    if (AfterFlush(await destination.FlushAsync().ConfigureAwait(false)) is { } heldEnd)
                    {
                        return heldEnd;
                    }
                    if (ct.IsCancellationRequested)
                    {
                        return PumpEnd.Cancelled;
                    }
                    continue;
                }

                if (batch.End is { } end)
                {
                    return end;
                }
                if (result.IsCompleted)
                {
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
            return PumpFailed(fromClient, reading, ex);
        }
        finally
        {
            if (state.Scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(state.Scratch);
            }
        }
    }

    /// <summary>What the pump carries from one read batch to the next.</summary>
    private struct BatchState
    {
        /// <summary>Bytes of a streamed (unjudged) frame still to forward.</summary>
        public long StreamRemaining;

        /// <summary>A pooled buffer for judged frames that span segments.</summary>
        public byte[]? Scratch;

        /// <summary>The destination socket, when runs of forwarded frames can be sent to it straight from the source's buffer.</summary>
        public IDirectSender? Direct;
    }

    /// <summary>What one read batch came to.</summary>
    private struct BatchOutcome
    {
        public SequencePosition Consumed;
        public long Written;
        public PumpEnd? End;
        public PgHeldMessage? Held;
        public byte[]? HeldFrame;
        public int HeldLength;

        /// <summary>When set, the frame at <see cref="Consumed"/> of this length must be taken out of the pipe first.</summary>
        public int LargeLength;

        /// <summary>The frame at <see cref="Consumed"/> waits for a catalog lookup.</summary>
        public bool NeedCatalog;
    }

    /// <summary>
    /// Goes through the whole frames of one read batch: runs of forwarded frames are copied out together; a frame the
    /// enforcer drops or replaces splits the run; a held frame ends the batch. Synchronous: spans never cross an await.
    /// </summary>
    private BatchOutcome ProcessBatch(PgEnforcer enforcer, in ReadOnlySequence<byte> buffer, PipeWriter destination, bool fromClient, ref BatchState state)
    {
        var outcome = new BatchOutcome { Consumed = buffer.Start };
        var reader = new SequenceReader<byte>(buffer);
        SequencePosition runStart = buffer.Start;
        int maxFrame = Options.Limits.MaxFrameBytes;
        int maxJudged = Options.Limits.MaxJudgedMessageBytes;

        while (outcome.End is null)
        {
            if (state.StreamRemaining > 0)
            {
                long n = Math.Min(state.StreamRemaining, reader.Remaining);
                reader.Advance(n);
                state.StreamRemaining -= n;
                outcome.Consumed = reader.Position;
                if (state.StreamRemaining > 0)
                {
                    break;
                }
                continue;
            }

            SequencePosition frameStart = reader.Position;
            byte type;
            int length;
            try
            {
                if (!PgFrameReader.TryReadHeader(ref reader, maxFrame, out type, out length))
                {
                    break;
                }
                if (fromClient ? !PgFrameReader.IsFrontendType(type) : !PgFrameReader.IsBackendType(type))
                {
                    ProtocolViolationException.Throw(fromClient ? "invalid frontend message type" : "invalid backend message type");
                }
                if (fromClient && type == (byte)PgFrontendMessageType.Terminate && length != 4)
                {
                    ProtocolViolationException.Throw("Terminate message with a body");
                }
            }
            catch (ProtocolViolationException ex)
            {
                _violation = ex.Message;
                outcome.End = PumpEnd.Violation;
                break;
            }

            long body = length - 4;
            bool judged = fromClient ? PgEnforcer.IsJudged(type) : enforcer.IsTracked(type);
            if (!judged)
            {
                if (!fromClient && type == (byte)PgBackendMessageType.DataRow && enforcer.CountsRows)
                {
                    enforcer.CountRow(length + 1);
                }
                if (reader.Remaining >= body)
                {
                    reader.Advance(body);
                    outcome.Consumed = reader.Position;
                    if (fromClient && type == (byte)PgFrontendMessageType.Terminate)
                    {
                        outcome.End = PumpEnd.Terminated;
                    }
                    else if (!fromClient)
                    {
                        _lastBackendType = type;
                    }
                    continue;
                }
                if (length > PgFrameScanner.DefaultStreamThreshold)
                {
                    // A long frame nobody judges (rows, COPY data) streams through as it arrives.
                    state.StreamRemaining = body - reader.Remaining;
                    reader.AdvanceToEnd();
                    outcome.Consumed = reader.Position;
                    if (!fromClient)
                    {
                        _lastBackendType = type;
                    }
                }
                break;
            }

            if (body > maxJudged)
            {
                _violation = $"a message of {length} bytes is longer than Wire inspects ({maxJudged} bytes)";
                outcome.End = PumpEnd.Violation;
                break;
            }
            if (reader.Remaining < body)
            {
                if (buffer.Slice(frameStart).Length >= WirePipeLimit)
                {
                    outcome.LargeLength = 5 + (int)body;
                }
                break;
            }

            var bodySequence = buffer.Slice(reader.Position, body);
            Span<byte> bodySpan;
            bool copied = !bodySequence.IsSingleSegment;
            if (!copied)
            {
                // The pipe's own memory: masking rewrites values in place, so the frame is still forwarded without a copy.
                bodySpan = MemoryMarshal.AsMemory(bodySequence.First).Span[..(int)body];
            }
            else
            {
                state.Scratch = EnsureScratch(state.Scratch, (int)body);
                bodySequence.CopyTo(state.Scratch);
                bodySpan = state.Scratch.AsSpan(0, (int)body);
            }

            int decision;
            try
            {
                decision = Judge(enforcer, fromClient, type, bodySpan, out outcome.Held);
            }
            catch (ProtocolViolationException ex)
            {
                _violation = ex.Message;
                outcome.End = PumpEnd.Violation;
                break;
            }

            if (decision is 4 or 16 + (int)PgBackendAction.NeedCatalog)
            {
                // Nothing of this frame is consumed: the pump asks the catalog, then the frame comes round again.
                outcome.NeedCatalog = true;
                break;
            }

            if (copied && !fromClient && decision == 0)
            {
                // Masked (maybe) in the copy: forward the copy, not the pipe's bytes.
                outcome.Written += Emit(destination, state.Direct, buffer.Slice(runStart, frameStart));
                var header = destination.GetSpan(5);
                buffer.Slice(frameStart, 5).CopyTo(header);
                destination.Advance(5);
                destination.Write(bodySpan);
                outcome.Written += 5 + body;
                reader.Advance(body);
                _lastBackendType = type;
                runStart = outcome.Consumed = reader.Position;
                continue;
            }

            reader.Advance(body);
            if (!fromClient)
            {
                _lastBackendType = type;
            }

            if (outcome.Held is not null)
            {
                outcome.Written += Emit(destination, state.Direct, buffer.Slice(runStart, frameStart));
                outcome.HeldLength = 5 + (int)body;
                outcome.HeldFrame = ArrayPool<byte>.Shared.Rent(outcome.HeldLength);
                buffer.Slice(frameStart, outcome.HeldLength).CopyTo(outcome.HeldFrame);
                runStart = outcome.Consumed = reader.Position;
                break;
            }

            if (decision == 5)
            {
                // Wire's own message goes ahead of this one, which then starts the next run.
                outcome.Written += Emit(destination, state.Direct, buffer.Slice(runStart, frameStart));
                long before = destination.UnflushedBytes;
                enforcer.WriteInjected(destination);
                outcome.Written += destination.UnflushedBytes - before;
                runStart = frameStart;
                outcome.Consumed = reader.Position;
                continue;
            }

            if (decision != 0)
            {
                // Dropped or replaced: send the run before it, then the replacement (if any).
                outcome.Written += Emit(destination, state.Direct, buffer.Slice(runStart, frameStart));
                outcome.Written += ApplyDecision(destination, enforcer, decision, default);
                runStart = reader.Position;
                if (decision == 16 + (int)PgBackendAction.UnsupportedEncoding)
                {
                    outcome.End = PumpEnd.Unsupported;
                }
            }
            outcome.Consumed = reader.Position;
        }

        outcome.Written += Emit(destination, state.Direct, buffer.Slice(runStart, outcome.Consumed));
        return outcome;
    }

    /// <summary>
    /// Looks up what the enforcer is missing. A catalog that cannot be read marks the names and OIDs unresolvable for a
    /// moment, so the frame is judged as touching masked data and its columns are masked whole (fail closed).
    /// </summary>
    private async Task ResolveCatalogAsync(PgEnforcer enforcer, CancellationToken ct)
    {
        var catalog = enforcer.Catalog!;
        string[] names = [.. enforcer.MissingNames];
        uint[] oids = [.. enforcer.MissingOids];
        string[] functions = [.. enforcer.MissingFunctions];
        try
        {
            if (names.Length > 0)
            {
                await catalog.ResolveNamesAsync(names, ct).ConfigureAwait(false);
            }
            if (functions.Length > 0)
            {
                await catalog.ResolveFunctionsAsync(functions, ct).ConfigureAwait(false);
            }
            if (oids.Length > 0)
            {
                await catalog.ResolveAsync(oids, ct).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log.CatalogFailed(_logger, Id, ex.Message);
            catalog.MarkUnresolvable(oids, [.. names, .. functions]);
        }
    }

    /// <summary>Unconsumed bytes above which a judged frame is taken out of the pipe (below its pause threshold).</summary>
    private const int WirePipeLimit = 256 * 1024;

    /// <summary>Decision codes: 0 forward; 1 drop; 2 replace (client side); 16 + PgBackendAction (server side).</summary>
    private static int Judge(PgEnforcer enforcer, bool fromClient, byte type, Span<byte> body, out PgHeldMessage? held)
    {
        held = null;
        if (fromClient)
        {
            return enforcer.OnFrontendMessage(type, body, out held) switch
            {
                PgFrontendAction.Forward => 0,
                PgFrontendAction.Drop => 1,
                PgFrontendAction.Replace => 2,
                PgFrontendAction.NeedCatalog => 4,
                PgFrontendAction.InjectBefore => 5,
                _ => 3,
            };
        }
        var action = enforcer.OnBackendMessage(type, body);
        return action == PgBackendAction.Forward ? 0 : 16 + (int)action;
    }

    private static long ApplyDecision(PipeWriter destination, PgEnforcer enforcer, int decision, ReadOnlySpan<byte> frame)
    {
        long before = destination.UnflushedBytes;
        switch (decision)
        {
            case 0:
                destination.Write(frame);
                break;
            case 2:
                enforcer.WriteReplacement(destination);
                break;
            case 5:
                enforcer.WriteInjected(destination);
                destination.Write(frame);
                break;
            case 16 + (int)PgBackendAction.Replace:
                enforcer.WriteBackendReplacement(destination);
                break;
            case 16 + (int)PgBackendAction.UnsupportedEncoding:
                break;
        }
        return destination.UnflushedBytes - before;
    }

    private async Task<PgFrontendAction> ReviewAsync(PgEnforcer enforcer, PgHeldMessage held, CancellationToken ct)
    {
        using var review = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Volatile.Write(ref _reviewCts, review);
        // A review keeps the session waiting on a person, not idle.
        using var hold = _idle?.Hold() ?? default;
        try
        {
            Log.ReviewRequested(_logger, Id, held.Request.Id, held.Request.Rule);
            var decision = await _server.Enforcement!.Approvals.WaitForDecisionAsync(held.Request, review.Token).ConfigureAwait(false);
            Log.ReviewDecided(_logger, Id, held.Request.Id, decision.Outcome.ToString(), decision.Approver ?? "-");
            return enforcer.Resolve(held, decision);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // Fail closed: a broker that cannot answer lets nothing through.
            Log.ReviewFailed(_logger, Id, held.Request.Id, ex.Message);
            return enforcer.Fail(held, "the approval service failed");
        }
        finally
        {
            Volatile.Write(ref _reviewCts, null);
        }
    }

    /// <summary>A cancel from the client: cancels a review in progress; false when none is (the cancel goes to the server).</summary>
    private bool CancelReview()
    {
        var review = Volatile.Read(ref _reviewCts);
        if (review is null)
        {
            return false;
        }
        try
        {
            review.Cancel();
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        return true;
    }

    private void SetMidFrame(bool fromClient, bool midFrame)
    {
        if (fromClient)
        {
            _upstreamMidFrame = midFrame;
        }
        else
        {
            _clientMidFrame = midFrame;
        }
    }

    /// <summary>
    /// Forwards a run of frames: what the socket takes at once goes straight from the source's buffer (no copy, no hop to
    /// the send loop), the rest is queued. Order holds: once anything is queued, direct sends wait behind it.
    /// </summary>
    private static long Emit(PipeWriter destination, IDirectSender? direct, ReadOnlySequence<byte> run)
    {
        long sent = direct is not null && !run.IsEmpty ? direct.TrySendDirect(run) : 0;
        foreach (var segment in run.Slice(sent))
        {
            destination.Write(segment.Span);
        }
        return run.Length;
    }

    private static byte[] EnsureScratch(byte[]? scratch, int length)
    {
        if (scratch is not null && scratch.Length >= length)
        {
            return scratch;
        }
        if (scratch is not null)
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
        return ArrayPool<byte>.Shared.Rent(length);
    }

    /// <summary>
    /// Moves one frame that is larger than the pipe may hold unconsumed into a buffer of its own: what is buffered now,
    /// then the rest as it arrives. Returns the (pooled) buffer holding the whole frame, header included.
    /// </summary>
    private static async Task<byte[]> CollectLargeFrameAsync(
        PipeReader source, ReadOnlySequence<byte> buffer, SequencePosition frameStart, int frameLength, byte[]? scratch, CancellationToken ct)
    {
        var frame = EnsureScratch(scratch, frameLength);
        var available = buffer.Slice(frameStart);
        available.CopyTo(frame);
        int filled = (int)available.Length;
        source.AdvanceTo(buffer.End);
        while (filled < frameLength)
        {
            var result = await source.ReadAsync(ct).ConfigureAwait(false);
            if (result.IsCanceled)
            {
                throw new OperationCanceledException();
            }
            var more = result.Buffer;
            int take = (int)Math.Min(more.Length, frameLength - filled);
            more.Slice(0, take).CopyTo(frame.AsSpan(filled));
            filled += take;
            source.AdvanceTo(more.GetPosition(take));
            if (filled < frameLength && result.IsCompleted)
            {
                throw new IOException("the connection closed in the middle of a message");
            }
        }
        return frame;
    }
}
