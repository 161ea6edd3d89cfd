using Wire.Testing;
using System.Buffers;
using Wire.Postgres.Protocol;

namespace Wire.Fuzz.Targets;

/// <summary>
/// The proxy's pump scanner (<see cref="PgFrameScanner"/>) fed the input the way a pump is: as a pipe
/// hands it over, chunk by chunk, the unconsumed rest rescanned after each arrival. Every chunking,
/// with every stream threshold, must forward exactly what the reference model allows (the whole valid
/// frames, plus the available bytes of a last frame whose header is complete and valid and whose
/// length is above the threshold), in both directions. A violation found
/// by the scanner escapes as a <see cref="ProtocolViolationException"/> once the checks pass; any
/// disagreement is a <see cref="FuzzInvariantException"/>.
/// </summary>
public sealed class PgScannerFuzzTarget : IFuzzTarget
{
    public string Name => "pg-scanner";

    public void Run(ReadOnlySpan<byte> input)
    {
        byte[] bytes = input.ToArray();
        var frontend = PgScannerOracle.Check(bytes, frontend: true);
        var backend = PgScannerOracle.Check(bytes, frontend: false);
        string? reason = frontend.Status == PgScanStatus.Violation ? frontend.Reason
            : backend.Status == PgScanStatus.Violation ? backend.Reason
            : null;
        if (reason is not null)
        {
            ProtocolViolationException.Throw(reason);
        }
    }
}

/// <summary>How a scan of a whole input ended: bytes forwarded, status, and the scanner's state.</summary>
public readonly record struct ScannerOutcome(long Forwarded, PgScanStatus Status, string? Reason, bool MidFrame, byte LastType)
{
    public override string ToString()
        => $"{Forwarded} bytes forwarded, {Status}{(Reason is null ? "" : $" ({Reason})")}, mid-frame {MidFrame}, last type 0x{LastType:X2}";
}

/// <summary>
/// What <see cref="PgFrameScanner"/> must do, derived from <see cref="PgStreamOracle.Reference"/>, and a
/// pump simulation that feeds it like a pipe does.
/// </summary>
public static class PgScannerOracle
{
    public const string TerminateWithBody = "Terminate message with a body";

    /// <summary>Chunkings every input is pumped in: each array's sizes are cycled.</summary>
    public static IReadOnlyList<int[]> Chunkings { get; } = [[int.MaxValue], [1], [2], [3], [7], [64], [1, 2, 3, 5, 8, 13, 4, 7]];

    /// <summary>
    /// Stream thresholds every input is scanned with: stream every incomplete frame, a small one so
    /// both kinds of frame meet in one input, and the proxy's default.
    /// </summary>
    public static IReadOnlyList<int> StreamThresholds { get; } = [0, 16, PgFrameScanner.DefaultStreamThreshold];

    /// <summary>
    /// The scanner's outcome on <paramref name="bytes"/> received in full: the reference model's whole
    /// frames, except that a Terminate must have no body; then, when the rest holds a complete header
    /// (the reference checked its length), a violation if its type is not valid for the direction (or
    /// it is a Terminate with a body), else the rest is streamed if the frame is longer than
    /// <paramref name="streamThreshold"/> and held back whole otherwise.
    /// </summary>
    public static ScannerOutcome Expected(byte[] bytes, bool frontend, int streamThreshold)
    {
        var reference = PgStreamOracle.Reference(bytes, frontend);
        var frames = reference.Frames;
        byte LastBefore(int count) => count > 0 ? frames[count - 1].Type : (byte)0;

        if (reference.Violation is not null)
        {
            return new ScannerOutcome(reference.Consumed, PgScanStatus.Violation, reference.Violation.Message, false, LastBefore(frames.Count));
        }

        if (frontend && frames.Count > 0 && frames[^1].Type == (byte)'X')
        {
            return frames[^1].Body.Length == 0
                ? new ScannerOutcome(reference.Consumed, PgScanStatus.Terminated, null, false, (byte)'X')
                : new ScannerOutcome(frames[^1].Offset, PgScanStatus.Violation, TerminateWithBody, false, LastBefore(frames.Count - 1));
        }

        byte last = LastBefore(frames.Count);
        long rest = bytes.Length - reference.Consumed;
        if (rest < PgFrameReader.HeaderLength)
        {
            return new ScannerOutcome(reference.Consumed, PgScanStatus.NeedMoreData, null, false, last);
        }

        // The reference stopped at an incomplete frame whose length is valid.
        byte type = bytes[reference.Consumed];
        int length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan((int)reference.Consumed + 1));
        if (!(frontend ? PgTypes.Frontend.Contains(type) : PgTypes.Backend.Contains(type)))
        {
            string reason = frontend ? "invalid frontend message type" : "invalid backend message type";
            return new ScannerOutcome(reference.Consumed, PgScanStatus.Violation, reason, false, last);
        }

        if (frontend && type == (byte)'X')
        {
            return new ScannerOutcome(reference.Consumed, PgScanStatus.Violation, TerminateWithBody, false, last);
        }

        return length <= streamThreshold
            ? new ScannerOutcome(reference.Consumed, PgScanStatus.NeedMoreData, null, false, last)
            : new ScannerOutcome(bytes.Length, PgScanStatus.NeedMoreData, null, true, type);
    }

    /// <summary>
    /// Pumps <paramref name="bytes"/> in every one of <see cref="Chunkings"/> with every one of
    /// <see cref="StreamThresholds"/>, and scans it whole on cut segments; every run must match
    /// <see cref="Expected"/>. Returns the expected outcome with the default threshold.
    /// </summary>
    public static ScannerOutcome Check(byte[] bytes, bool frontend)
    {
        string direction = frontend ? "frontend" : "backend";
        ScannerOutcome result = default;
        foreach (int threshold in StreamThresholds)
        {
            var expected = Expected(bytes, frontend, threshold);
            Require(Model(bytes, frontend, threshold), expected, $"{direction}, threshold {threshold}, the direct model against the reference");
            foreach (int[] sizes in Chunkings)
            {
                if (sizes[0] < 64 && bytes.Length > 4096)
                {
                    continue;
                }

                var actual = Pump(bytes, ChunkEnds(bytes.Length, sizes), frontend, threshold, checkSteps: true);
                Require(actual, expected, $"{direction}, threshold {threshold}, chunks of [{string.Join(',', sizes)}]");
            }

            var scanner = new PgFrameScanner(frontend, PgStreamOracle.MaxLength, threshold);
            var whole = SequenceCutter.Chunks(bytes, [1, 2, 3, 5, 8, 13, 4, 7]);
            var status = scanner.Scan(whole, out var forwardable);
            var once = new ScannerOutcome(whole.Slice(whole.Start, forwardable).Length, status, Reason(scanner, status), scanner.MidFrame, scanner.LastType);
            Require(once, expected, $"{direction}, threshold {threshold}, one scan over cut segments");
            result = expected;
        }

        return result;
    }

    /// <summary>The ends of consecutive chunks whose sizes cycle through <paramref name="sizes"/>.</summary>
    public static int[] ChunkEnds(int length, int[] sizes)
    {
        var ends = new List<int>();
        long end = 0;
        for (int i = 0; end < length; i++)
        {
            end = Math.Min(length, end + sizes[i % sizes.Length]);
            ends.Add((int)end);
        }

        return [.. ends];
    }

    /// <summary>
    /// The same rules as <see cref="Expected"/>, written directly and without allocating, for the
    /// checks after every arrival; <see cref="Check"/> holds it to <see cref="Expected"/>.
    /// </summary>
    public static ScannerOutcome Model(ReadOnlySpan<byte> bytes, bool frontend, int streamThreshold, int maxLength = PgStreamOracle.MaxLength)
    {
        long position = 0;
        byte last = 0;
        while (bytes.Length - position >= PgFrameReader.HeaderLength)
        {
            byte type = bytes[(int)position];
            int length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes[(int)(position + 1)..]);
            string? reason = length < 4 ? "invalid message length"
                : length > maxLength ? "message length exceeds the configured maximum"
                : !(frontend ? PgTypes.Frontend.Contains(type) : PgTypes.Backend.Contains(type)) ? (frontend ? "invalid frontend message type" : "invalid backend message type")
                : frontend && type == (byte)'X' && length != 4 ? TerminateWithBody
                : null;
            if (reason is not null)
            {
                return new ScannerOutcome(position, PgScanStatus.Violation, reason, false, last);
            }

            if (bytes.Length - position - 1 < length)
            {
                return length <= streamThreshold
                    ? new ScannerOutcome(position, PgScanStatus.NeedMoreData, null, false, last)
                    : new ScannerOutcome(bytes.Length, PgScanStatus.NeedMoreData, null, true, type);
            }

            last = type;
            position += 1 + length;
            if (frontend && type == (byte)'X')
            {
                return new ScannerOutcome(position, PgScanStatus.Terminated, null, false, last);
            }
        }

        return new ScannerOutcome(position, PgScanStatus.NeedMoreData, null, false, last);
    }

    /// <summary>
    /// Feeds <paramref name="bytes"/> as a pipe does: each chunk, ending at the next of the ascending
    /// <paramref name="chunkEnds"/> (a repeat arrives empty; the input's end is added when missing), is
    /// appended as a new segment; the scanner sees everything not yet consumed and the pump consumes
    /// exactly up to the returned position, stopping at Terminated or Violation. With
    /// <paramref name="checkSteps"/>, after each arrival the bytes forwarded, the status and MidFrame
    /// must be what <see cref="Model"/> says for the bytes received so far; and at no time may more
    /// than a partial header or an incomplete frame no longer than the threshold be held back.
    /// </summary>
    public static ScannerOutcome Pump(
        byte[] bytes,
        IReadOnlyList<int> chunkEnds,
        bool frontend,
        int streamThreshold,
        bool checkSteps = false,
        int maxLength = PgStreamOracle.MaxLength)
    {
        var ends = chunkEnds.Select(e => Math.Clamp(e, 0, bytes.Length)).ToList();
        if (ends.Count == 0 || ends[^1] < bytes.Length)
        {
            ends.Add(bytes.Length);
        }

        var scanner = new PgFrameScanner(frontend, maxLength, streamThreshold);
        long mostHeldBack = Math.Max(PgFrameReader.HeaderLength - 1, Math.Min(streamThreshold, maxLength));
        var pipe = new GrowingSequence();
        long forwarded = 0;
        var status = PgScanStatus.NeedMoreData;
        int received = 0;
        foreach (int chunkEnd in ends)
        {
            int end = Math.Max(chunkEnd, received);
            pipe.Append(bytes.AsMemory(received, end - received));
            received = end;

            ReadOnlySequence<byte> buffer = pipe.Unconsumed;
            status = scanner.Scan(buffer, out SequencePosition forwardable);
            forwarded += buffer.Slice(buffer.Start, forwardable).Length;
            pipe.ConsumeTo(forwardable);

            if (checkSteps)
            {
                var step = Model(bytes.AsSpan(0, received), frontend, streamThreshold, maxLength);
                if (forwarded != step.Forwarded || status != step.Status || scanner.MidFrame != step.MidFrame)
                {
                    throw new FuzzInvariantException(
                        $"threshold {streamThreshold}, after {received} of {bytes.Length} bytes: scanner forwarded {forwarded} ({status}, mid-frame {scanner.MidFrame}); the protocol says {step}");
                }
            }

            if (status == PgScanStatus.NeedMoreData && received - forwarded > mostHeldBack)
            {
                throw new FuzzInvariantException(
                    $"threshold {streamThreshold}, after {received} bytes the scanner holds back {received - forwarded}: more than a partial header or a small frame");
            }

            if (status != PgScanStatus.NeedMoreData)
            {
                break;
            }
        }

        return new ScannerOutcome(forwarded, status, Reason(scanner, status), scanner.MidFrame, scanner.LastType);
    }

    private static string? Reason(in PgFrameScanner scanner, PgScanStatus status)
        => status == PgScanStatus.Violation ? scanner.ViolationReason : null;

    private static void Require(ScannerOutcome actual, ScannerOutcome expected, string how)
    {
        if (actual != expected)
        {
            throw new FuzzInvariantException($"{how}: scanner gave {actual}; the protocol says {expected}");
        }
    }

    /// <summary>A pipe's read side: segments appended at the end, consumed from the front.</summary>
    private sealed class GrowingSequence
    {
        private ChunkSegment? _last;
        private SequencePosition _start;

        public ReadOnlySequence<byte> Unconsumed
            => _last is null ? ReadOnlySequence<byte>.Empty
                : new ReadOnlySequence<byte>((ChunkSegment)_start.GetObject()!, _start.GetInteger(), _last, _last.Memory.Length);

        public void Append(ReadOnlyMemory<byte> memory)
        {
            if (_last is null)
            {
                _last = new ChunkSegment(memory, 0);
                _start = new SequencePosition(_last, 0);
            }
            else
            {
                _last = _last.Append(memory);
            }
        }

        public void ConsumeTo(SequencePosition position) => _start = position;
    }
}
