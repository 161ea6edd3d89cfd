using Wire.Testing;
using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Wire.Postgres.Protocol;
using Xunit.Sdk;
using static Wire.Postgres.Tests.Protocol.PgTestFrames;

namespace Wire.Postgres.Tests.Protocol;

public sealed class PgFrameScannerTests
{
    private const int MaxLength = 1 << 20;
    private const string InvalidLength = "invalid message length";
    private const string TooLong = "message length exceeds the configured maximum";
    private const string InvalidFrontendType = "invalid frontend message type";
    private const string InvalidBackendType = "invalid backend message type";
    private const string TerminateWithBody = "Terminate message with a body";

    /// <summary>Every incomplete frame is streamed.</summary>
    private const int StreamAll = 0;

    /// <summary>The proxy's default: frames up to 64 KiB are forwarded whole.</summary>
    private const int Default = PgFrameScanner.DefaultStreamThreshold;

    /// <summary>Tagged frontend and backend types of protocol 3.0, from the message-formats page.</summary>
    private static readonly byte[] FrontendTypes = "BCdcfDEHFpPQSX"u8.ToArray();

    private static readonly byte[] BackendTypes = "RK23CdcGHWDIEVvnNAtS1sZT"u8.ToArray();

    /// <summary>The chunk sizes a pump may see: tiny, odd, a typical small read, and everything at once.</summary>
    private static readonly int[] ChunkSizes = [1, 2, 3, 7, 64, int.MaxValue];

    private static readonly byte[] Query = Frame((byte)'Q', CString("SELECT 1"));

    private static readonly byte[] Terminate = Frame((byte)'X', []);

    public static TheoryData<string, int, int> StreamsAndChunkSizes()
    {
        var data = new TheoryData<string, int, int>();
        foreach (string name in CapturedStreams.Keys)
        {
            foreach (int size in ChunkSizes)
            {
                data.Add(name, size, StreamAll);
                data.Add(name, size, Default);
            }
        }

        return data;
    }

    public static TheoryData<string> StreamNames() => [.. CapturedStreams.Keys];

    public static TheoryData<int> Chunks() => [.. ChunkSizes];

    public static TheoryData<int, int> ChunksAndThresholds()
    {
        var data = new TheoryData<int, int>();
        foreach (int size in ChunkSizes)
        {
            data.Add(size, StreamAll);
            data.Add(size, Default);
        }

        return data;
    }

    /// <summary>Captured-style streams: name, direction, bytes, last frame's type.</summary>
    private static Dictionary<string, (bool Frontend, byte[] Bytes, byte LastType)> CapturedStreams { get; } = new()
    {
        ["select response"] = (false, Stream(SelectResponse), (byte)'Z'),
        ["select request"] = (true, Stream(SelectRequest), (byte)'S'),
        ["handshake then select response"] = (false, Concat(
            Frame((byte)'R', Int32(0)),
            Frame((byte)'S', Concat(CString("server_version"), CString("17.2"))),
            Frame((byte)'K', Concat(Int32(4242), Int32(0x5EC2E7))),
            Frame((byte)'Z', [(byte)'I']),
            Stream(SelectResponse)), (byte)'Z'),
        ["copy in"] = (true, Concat(
            Frame((byte)'Q', CString("COPY t FROM STDIN")),
            Frame((byte)'d', new byte[300]),
            Frame((byte)'d', [1, 2, 3]),
            Frame((byte)'c', []),
            Stream(SelectRequest)), (byte)'S'),
    };

    [Theory]
    [MemberData(nameof(StreamNames))]
    public void One_scan_forwards_a_captured_stream_whole_on_every_segmentation(string name)
    {
        var (frontend, bytes, lastType) = CapturedStreams[name];
        Segmentation.ForEach(bytes, sequence =>
        {
            var scanner = new PgFrameScanner(frontend, MaxLength);
            Assert.Equal(PgScanStatus.NeedMoreData, scanner.Scan(sequence, out var forwardable));
            Assert.Equal(sequence.End, forwardable);
            Assert.False(scanner.MidFrame);
            Assert.Equal(lastType, scanner.LastType);

            // Nothing left: a second scan of the empty rest forwards nothing and keeps the state.
            var rest = sequence.Slice(forwardable);
            Assert.Equal(PgScanStatus.NeedMoreData, scanner.Scan(rest, out var again));
            Assert.Equal(0, rest.Slice(rest.Start, again).Length);
            Assert.Equal(lastType, scanner.LastType);
        });
    }

    [Theory]
    [MemberData(nameof(StreamsAndChunkSizes))]
    public void Pumping_a_captured_stream_in_chunks_forwards_exactly_the_input(string name, int chunk, int threshold)
    {
        var (frontend, bytes, lastType) = CapturedStreams[name];
        var run = Pump.Run(bytes, chunk, frontend, threshold);
        Assert.Equal(bytes, run.Forwarded);
        Assert.Equal(PgScanStatus.NeedMoreData, run.Status);
        Assert.False(run.MidFrame);
        Assert.Equal(lastType, run.LastType);
        run.AssertEveryStepMatchesTheModel(bytes, frontend, threshold);
        if (threshold == Default)
        {
            // Every frame here is small: each forward ends on a frame boundary.
            var boundaries = FrameEnds(bytes);
            Assert.All(run.Steps, s => Assert.Contains(s.Forwarded, boundaries));
        }
    }

    [Theory]
    [MemberData(nameof(StreamsAndChunkSizes))]
    public async Task Pumping_a_captured_stream_through_a_pipe_forwards_exactly_the_input(string name, int chunk, int threshold)
    {
        var (frontend, bytes, lastType) = CapturedStreams[name];
        var run = await Pump.ThroughPipeAsync(bytes, chunk, frontend, threshold);
        Assert.Equal(bytes, run.Forwarded);
        Assert.Equal(PgScanStatus.NeedMoreData, run.Status);
        Assert.False(run.MidFrame);
        Assert.Equal(lastType, run.LastType);
        run.AssertEveryStepMatchesTheModel(bytes, frontend, threshold);
    }

    [Theory]
    [InlineData(1, StreamAll)]
    [InlineData(2, StreamAll)]
    [InlineData(3, StreamAll)]
    [InlineData(7, StreamAll)]
    [InlineData(64, StreamAll)]
    [InlineData(1000, StreamAll)]
    [InlineData(4096, StreamAll)]
    [InlineData(1, Default)]
    [InlineData(7, Default)]
    [InlineData(64, Default)]
    [InlineData(4096, Default)]
    [InlineData(65536, Default)]
    public void A_frame_larger_than_a_chunk_and_the_threshold_is_streamed_not_buffered(int chunk, int threshold)
    {
        // A big DataRow between two small frames, as a server sends a wide row.
        byte[] before = Frame((byte)'Z', [(byte)'I']);
        byte[] big = Frame((byte)'D', Enumerable.Range(0, threshold + 20_000).Select(i => (byte)i).ToArray());
        byte[] after = Frame((byte)'C', CString("SELECT 1"));
        byte[] bytes = Concat(before, big, after);
        int bigStart = before.Length, bigEnd = before.Length + big.Length;

        var run = Pump.Run(bytes, chunk, frontend: false, threshold);
        Assert.Equal(bytes, run.Forwarded);
        Assert.Equal(PgScanStatus.NeedMoreData, run.Status);
        Assert.False(run.MidFrame);
        Assert.Equal((byte)'C', run.LastType);

        foreach (var step in run.Steps)
        {
            // Never more than a partial header or a small frame is held back.
            Assert.InRange(step.Received - step.Forwarded, 0, Math.Max(PgFrameReader.HeaderLength - 1, threshold));
            if (step.Received >= bigStart + PgFrameReader.HeaderLength && step.Received < bigEnd)
            {
                // Inside the big frame: everything received so far has gone out.
                Assert.Equal(step.Received, step.Forwarded);
                Assert.True(step.MidFrame, $"not mid-frame after {step.Received} bytes");
                Assert.Equal((byte)'D', step.LastType);
            }
        }

        if (chunk < big.Length)
        {
            Assert.Contains(run.Steps, s => s.MidFrame);
        }

        run.AssertEveryStepMatchesTheModel(bytes, frontend: false, threshold);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    public void A_frame_up_to_the_threshold_is_forwarded_whole(int chunk)
    {
        const int threshold = 100;
        byte[] atThreshold = Frame((byte)'D', new byte[threshold - 4]);
        byte[] above = Frame((byte)'D', new byte[threshold - 3]);
        byte[] small = Frame((byte)'Z', [(byte)'I']);
        byte[] bytes = Concat(small, atThreshold, small, above, small);

        var run = Pump.Run(bytes, chunk, frontend: false, threshold);
        Assert.Equal(bytes, run.Forwarded);
        Assert.False(run.MidFrame);
        run.AssertEveryStepMatchesTheModel(bytes, frontend: false, threshold);

        // The frame at the threshold never goes out in part; the one above it does (when chunks are smaller).
        int atStart = small.Length, atEnd = atStart + atThreshold.Length;
        Assert.DoesNotContain(run.Steps, s => s.Forwarded > atStart && s.Forwarded < atEnd);
        Assert.DoesNotContain(run.Steps, s => s.MidFrame && s.Forwarded <= atEnd);
        int aboveStart = atEnd + small.Length, aboveEnd = aboveStart + above.Length;
        Assert.Contains(run.Steps, s => s.MidFrame && s.Forwarded > aboveStart && s.Forwarded < aboveEnd);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(5000)]
    public async Task A_large_CopyData_is_streamed_through_a_pipe(int chunk)
    {
        byte[] bytes = Concat(Frame((byte)'d', new byte[100_000]), Frame((byte)'c', []));
        var run = await Pump.ThroughPipeAsync(bytes, chunk, frontend: true, Default);
        Assert.Equal(bytes, run.Forwarded);
        Assert.Equal(PgScanStatus.NeedMoreData, run.Status);
        Assert.False(run.MidFrame);
        Assert.Equal((byte)'c', run.LastType);
        Assert.All(run.Steps, s => Assert.InRange(s.Received - s.Forwarded, 0, PgFrameReader.HeaderLength - 1));
        run.AssertEveryStepMatchesTheModel(bytes, frontend: true, Default);
    }

    [Theory]
    [MemberData(nameof(ChunksAndThresholds))]
    public void Terminate_stops_forwarding_right_after_the_X_frame(int chunk, int threshold)
    {
        byte[] good = Concat(Stream(SelectRequest), Query, Terminate);
        byte[][] afters =
        [
            [],
            Query,
            Concat(Query, Terminate),
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
            [(byte)'Q', 0, 0, 0, 2],
            [0],
        ];

        foreach (byte[] after in afters)
        {
            byte[] bytes = Concat(good, after);
            var run = Pump.Run(bytes, chunk, frontend: true, threshold);
            Assert.Equal(good, run.Forwarded);
            Assert.Equal(PgScanStatus.Terminated, run.Status);
            Assert.Equal((byte)'X', run.LastType);
            Assert.False(run.MidFrame);
            run.AssertEveryStepMatchesTheModel(bytes, frontend: true, threshold);
        }
    }

    [Fact]
    public void Terminate_ends_the_range_on_every_segmentation()
    {
        byte[] bytes = Concat(Query, Terminate, Query);
        Segmentation.ForEach(bytes, sequence =>
        {
            var scanner = new PgFrameScanner(frontend: true, MaxLength);
            Assert.Equal(PgScanStatus.Terminated, scanner.Scan(sequence, out var forwardable));
            Assert.Equal(Query.Length + Terminate.Length, sequence.Slice(sequence.Start, forwardable).Length);
        });
    }

    [Fact]
    public void X_is_not_a_terminate_from_the_server()
    {
        // 'X' is no backend type at all.
        var scanner = new PgFrameScanner(frontend: false, MaxLength);
        byte[] bytes = Concat(Frame((byte)'Z', [(byte)'I']), Terminate);
        Assert.Equal(PgScanStatus.Violation, scanner.Scan(new ReadOnlySequence<byte>(bytes), out var forwardable));
        Assert.Equal(6, forwardable.GetInteger());
        Assert.Equal(InvalidBackendType, scanner.ViolationReason);
    }

    [Theory]
    [MemberData(nameof(ChunksAndThresholds))]
    public void A_Terminate_with_a_body_is_rejected_however_it_is_chunked(int chunk, int threshold)
    {
        // Terminate's length is 4. One claiming a body must get the same answer whether it arrives
        // whole or split across reads (streamed, it would otherwise lose its meaning and whatever
        // follows it would be forwarded).
        byte[] terminate = Frame((byte)'X', [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        byte[] bytes = Concat(Query, terminate, Query, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);

        var whole = new PgFrameScanner(frontend: true, MaxLength, threshold);
        Assert.Equal(PgScanStatus.Violation, whole.Scan(new ReadOnlySequence<byte>(bytes), out var end));
        Assert.Equal(Query.Length, end.GetInteger());
        Assert.Equal(TerminateWithBody, whole.ViolationReason);

        var run = Pump.Run(bytes, chunk, frontend: true, threshold);
        Assert.True(
            run.Status == PgScanStatus.Violation && run.Forwarded.Length == Query.Length,
            $"expected a violation after {Query.Length} bytes; got {run.Status} ({run.ViolationReason}) after forwarding {run.Forwarded.Length} bytes");
        Assert.Equal(Query, run.Forwarded);
        Assert.Equal(TerminateWithBody, run.ViolationReason);
        Assert.Equal((byte)'Q', run.LastType);
        run.AssertEveryStepMatchesTheModel(bytes, frontend: true, threshold);
    }

    public static TheoryData<bool, string, string, int, int> BadFrames()
    {
        var data = new TheoryData<bool, string, string, int, int>();
        foreach (int chunk in ChunkSizes)
        {
            foreach (int threshold in new[] { StreamAll, Default })
            {
                data.Add(true, "backend type in frontend stream", InvalidFrontendType, chunk, threshold);
                data.Add(false, "frontend type in backend stream", InvalidBackendType, chunk, threshold);
                data.Add(true, "zero type", InvalidFrontendType, chunk, threshold);
                data.Add(false, "zero type", InvalidBackendType, chunk, threshold);
                data.Add(true, "length 3", InvalidLength, chunk, threshold);
                data.Add(false, "length 0", InvalidLength, chunk, threshold);
                data.Add(true, "negative length", InvalidLength, chunk, threshold);
                data.Add(false, "length above the maximum", TooLong, chunk, threshold);
                data.Add(true, "length int.MaxValue", TooLong, chunk, threshold);
                data.Add(true, "terminate with a body", TerminateWithBody, chunk, threshold);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(BadFrames))]
    public void A_violation_after_good_frames_forwards_only_the_good_frames(bool frontend, string bad, string reason, int chunk, int threshold)
    {
        byte[] good = frontend
            ? Concat(Stream(SelectRequest), Frame((byte)'d', new byte[200]))
            : Concat(Stream(SelectResponse), Frame((byte)'d', new byte[200]));
        byte[] badFrame = bad switch
        {
            "backend type in frontend stream" => Frame((byte)'Z', [(byte)'I']),
            "frontend type in backend stream" => Frame((byte)'Q', CString("SELECT 1")),
            "zero type" => Frame(0, [1, 2, 3]),
            "length 3" => [(byte)'Q', 0, 0, 0, 3, 0, 0, 0],
            "length 0" => [(byte)'D', 0, 0, 0, 0],
            "negative length" => [(byte)'Q', 0xFF, 0xFF, 0xFF, 0xFF, 1, 2],
            "length above the maximum" => Concat([(byte)'D'], Int32(MaxLength + 1), new byte[10]),
            "length int.MaxValue" => Concat([(byte)'d'], Int32(int.MaxValue)),
            "terminate with a body" => Concat([(byte)'X'], Int32(5)),
            _ => throw new ArgumentOutOfRangeException(nameof(bad)),
        };

        // A valid frame after the bad one must not be forwarded either.
        byte[] bytes = Concat(good, badFrame, frontend ? Query : Frame((byte)'Z', [(byte)'I']));
        var run = Pump.Run(bytes, chunk, frontend, threshold);
        Assert.Equal(PgScanStatus.Violation, run.Status);
        Assert.Equal(reason, run.ViolationReason);
        Assert.Equal(good, run.Forwarded);
        Assert.False(run.MidFrame);
        Assert.Equal((byte)'d', run.LastType);
        run.AssertEveryStepMatchesTheModel(bytes, frontend, threshold);
    }

    [Fact]
    public void A_violation_is_reported_at_the_last_good_boundary_on_every_segmentation()
    {
        byte[] good = Stream(SelectResponse);
        byte[] bytes = Concat(good, Frame((byte)'Q', CString("x")));
        Segmentation.ForEach(bytes, sequence =>
        {
            var scanner = new PgFrameScanner(frontend: false, MaxLength);
            Assert.Equal(PgScanStatus.Violation, scanner.Scan(sequence, out var forwardable));
            Assert.Equal(good.Length, sequence.Slice(sequence.Start, forwardable).Length);
            Assert.Equal(InvalidBackendType, scanner.ViolationReason);
            Assert.Equal((byte)'Z', scanner.LastType);
        });
    }

    [Theory]
    [InlineData(StreamAll)]
    [InlineData(Default)]
    public void Type_bytes_are_checked_per_direction_as_soon_as_the_header_is_in(int threshold)
    {
        for (int value = 0; value < 256; value++)
        {
            byte type = (byte)value;
            foreach (bool frontend in new[] { true, false })
            {
                bool valid = (frontend ? FrontendTypes : BackendTypes).Contains(type);
                bool terminate = frontend && type == (byte)'X';
                byte[] frame = Frame(type, terminate ? [] : [1, 2, 3, 4]);
                string what = $"type 0x{type:X2} ('{(char)type}') in a {(frontend ? "frontend" : "backend")} stream";

                // Only the header buffered: the type is judged before any of the body arrives.
                var scanner = new PgFrameScanner(frontend, MaxLength, threshold);
                var status = scanner.Scan(new ReadOnlySequence<byte>(frame, 0, PgFrameReader.HeaderLength), out var forwardable);
                if (!valid)
                {
                    Assert.True(status == PgScanStatus.Violation, $"{what}: {status}");
                    Assert.Equal(0, forwardable.GetInteger());
                    Assert.Equal(frontend ? InvalidFrontendType : InvalidBackendType, scanner.ViolationReason);
                    Assert.False(scanner.MidFrame, what);
                    Assert.Equal(0, scanner.LastType);
                }
                else if (terminate)
                {
                    Assert.True(status == PgScanStatus.Terminated, $"{what}: {status}");
                    Assert.Equal(PgFrameReader.HeaderLength, forwardable.GetInteger());
                }
                else
                {
                    // Streamed at once, or held back whole as a small frame.
                    Assert.True(status == PgScanStatus.NeedMoreData, $"{what}: {status}");
                    Assert.Equal(threshold == StreamAll ? PgFrameReader.HeaderLength : 0, forwardable.GetInteger());
                    Assert.Equal(threshold == StreamAll, scanner.MidFrame);
                    Assert.Equal(threshold == StreamAll ? type : 0, scanner.LastType);
                }

                // The whole frame buffered.
                var whole = new PgFrameScanner(frontend, MaxLength, threshold);
                var expected = !valid ? PgScanStatus.Violation
                    : terminate ? PgScanStatus.Terminated
                    : PgScanStatus.NeedMoreData;
                Assert.True(expected == whole.Scan(new ReadOnlySequence<byte>(frame), out var end), what);
                Assert.Equal(valid ? frame.Length : 0, end.GetInteger());
                Assert.Equal(valid ? type : 0, whole.LastType);
            }
        }
    }

    [Theory]
    [InlineData(int.MinValue, InvalidLength)]
    [InlineData(-1, InvalidLength)]
    [InlineData(0, InvalidLength)]
    [InlineData(1, InvalidLength)]
    [InlineData(3, InvalidLength)]
    [InlineData(MaxLength + 1, TooLong)]
    [InlineData(int.MaxValue, TooLong)]
    public void A_bad_length_is_a_violation_before_the_body_arrives(int length, string reason)
    {
        foreach (bool frontend in new[] { true, false })
        {
            // The header alone, after a good frame, on every segmentation.
            byte[] good = frontend ? Query : Frame((byte)'Z', [(byte)'I']);
            byte[] bytes = Concat(good, [(byte)'D'], Int32(length));
            Segmentation.ForEach(bytes, sequence =>
            {
                var scanner = new PgFrameScanner(frontend, MaxLength);
                Assert.Equal(PgScanStatus.Violation, scanner.Scan(sequence, out var forwardable));
                Assert.Equal(reason, scanner.ViolationReason);
                Assert.Equal(good.Length, sequence.Slice(sequence.Start, forwardable).Length);
                Assert.False(scanner.MidFrame);
            });

            // And arriving a byte at a time.
            var run = Pump.Run(bytes, 1, frontend, StreamAll);
            Assert.Equal(PgScanStatus.Violation, run.Status);
            Assert.Equal(reason, run.ViolationReason);
            Assert.Equal(good, run.Forwarded);
        }
    }

    [Fact]
    public void The_limit_is_inclusive_and_counts_the_length_field()
    {
        const int limit = 64;

        // Length exactly at the limit: the frame is streamed as it arrives (with streaming on)...
        byte[] atLimit = Frame((byte)'D', new byte[limit - 4]);
        var scanner = new PgFrameScanner(frontend: false, limit, StreamAll);
        Assert.Equal(PgScanStatus.NeedMoreData, scanner.Scan(new ReadOnlySequence<byte>(atLimit, 0, 10), out var forwardable));
        Assert.Equal(10, forwardable.GetInteger());
        Assert.True(scanner.MidFrame);
        Assert.Equal(PgScanStatus.NeedMoreData, scanner.Scan(new ReadOnlySequence<byte>(atLimit, 10, atLimit.Length - 10), out forwardable));
        Assert.Equal(atLimit.Length, forwardable.GetInteger());
        Assert.False(scanner.MidFrame);

        // ... and held back, then forwarded whole, with the default threshold (the limit is below it).
        var held = new PgFrameScanner(frontend: false, limit);
        Assert.Equal(PgScanStatus.NeedMoreData, held.Scan(new ReadOnlySequence<byte>(atLimit, 0, 10), out forwardable));
        Assert.Equal(0, forwardable.GetInteger());
        Assert.False(held.MidFrame);
        Assert.Equal(PgScanStatus.NeedMoreData, held.Scan(new ReadOnlySequence<byte>(atLimit), out forwardable));
        Assert.Equal(atLimit.Length, forwardable.GetInteger());

        // One above: rejected with only the header in.
        byte[] overLimit = Frame((byte)'D', new byte[limit - 3]);
        var over = new PgFrameScanner(frontend: false, limit);
        Assert.Equal(PgScanStatus.Violation, over.Scan(new ReadOnlySequence<byte>(overLimit, 0, PgFrameReader.HeaderLength), out forwardable));
        Assert.Equal(0, forwardable.GetInteger());
        Assert.Equal(TooLong, over.ViolationReason);

        // Length 4 (no body) is the smallest valid frame.
        var empty = new PgFrameScanner(frontend: true, limit);
        Assert.Equal(PgScanStatus.NeedMoreData, empty.Scan(new ReadOnlySequence<byte>(Frame((byte)'S', [])), out forwardable));
        Assert.Equal(5, forwardable.GetInteger());
        Assert.False(empty.MidFrame);
    }

    [Fact]
    public void A_partial_header_is_held_back_until_it_is_complete()
    {
        byte[] bytes = Frame((byte)'D', [1, 2, 3]);
        for (int n = 0; n < PgFrameReader.HeaderLength; n++)
        {
            var scanner = new PgFrameScanner(frontend: false, MaxLength);
            Assert.Equal(PgScanStatus.NeedMoreData, scanner.Scan(new ReadOnlySequence<byte>(bytes, 0, n), out var forwardable));
            Assert.Equal(0, forwardable.GetInteger());
            Assert.False(scanner.MidFrame);
            Assert.Equal(0, scanner.LastType);
        }
    }

    [Fact]
    public void A_partial_header_with_a_bad_length_is_not_judged_early()
    {
        // Four bytes could still become anything; only the fifth completes the length.
        byte[] bytes = [(byte)'D', 0xFF, 0xFF, 0xFF];
        var scanner = new PgFrameScanner(frontend: false, MaxLength);
        Assert.Equal(PgScanStatus.NeedMoreData, scanner.Scan(new ReadOnlySequence<byte>(bytes), out var forwardable));
        Assert.Equal(0, forwardable.GetInteger());
        Assert.Null(scanner.ViolationReason);
    }

    [Fact]
    public void Scanning_does_not_allocate()
    {
        byte[] bytes = Concat(Stream(SelectResponse), Frame((byte)'D', new byte[1000]));
        var sequence = Segmentation.SplitAt(bytes, 3, 17, 100, 101, 250, 900);
        var streamed = sequence.Slice(0, bytes.Length - 300);

        static void ScanAll(in ReadOnlySequence<byte> sequence, in ReadOnlySequence<byte> streamed)
        {
            var scanner = new PgFrameScanner(frontend: false, MaxLength);
            _ = scanner.Scan(sequence, out _);
            _ = scanner.Scan(streamed, out _);
            var partial = new PgFrameScanner(frontend: false, MaxLength, StreamAll);
            _ = partial.Scan(streamed, out _);
            _ = partial.Scan(sequence.Slice(streamed.End), out _);
        }

        ScanAll(sequence, streamed);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            ScanAll(sequence, streamed);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>What the scanner must do with the bytes received so far (the framing rules, written flat).</summary>
    private static (long Forwarded, PgScanStatus Status, bool MidFrame) Model(ReadOnlySpan<byte> bytes, bool frontend, int threshold)
    {
        int position = 0;
        while (bytes.Length - position >= PgFrameReader.HeaderLength)
        {
            byte type = bytes[position];
            int length = BinaryPrimitives.ReadInt32BigEndian(bytes[(position + 1)..]);
            if (length < 4 || length > MaxLength || !(frontend ? FrontendTypes : BackendTypes).Contains(type)
                || (frontend && type == (byte)'X' && length != 4))
            {
                return (position, PgScanStatus.Violation, false);
            }

            if (bytes.Length - position - 1 < length)
            {
                // Incomplete: a long frame is streamed, a short one waited for.
                return length > threshold ? (bytes.Length, PgScanStatus.NeedMoreData, true) : (position, PgScanStatus.NeedMoreData, false);
            }

            position += 1 + length;
            if (frontend && type == (byte)'X')
            {
                return (position, PgScanStatus.Terminated, false);
            }
        }

        return (position, PgScanStatus.NeedMoreData, false);
    }

    /// <summary>The offsets at which frames end (and the next begins), including 0.</summary>
    private static HashSet<long> FrameEnds(byte[] bytes)
    {
        var ends = new HashSet<long> { 0 };
        int position = 0;
        while (position < bytes.Length)
        {
            position += 1 + BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(position + 1));
            ends.Add(position);
        }

        return ends;
    }

    private readonly record struct Step(long Received, long Forwarded, PgScanStatus Status, bool MidFrame, byte LastType);

    /// <summary>A pump's view of one direction: what was forwarded, how it ended, and every step.</summary>
    private sealed class Pump
    {
        private readonly List<byte> _forwarded = [];

        public byte[] Forwarded => [.. _forwarded];

        public PgScanStatus Status { get; private set; }

        public bool MidFrame { get; private set; }

        public byte LastType { get; private set; }

        public string? ViolationReason { get; private set; }

        public List<Step> Steps { get; } = [];

        /// <summary>
        /// Appends the input <paramref name="chunk"/> bytes at a time, each chunk a new segment; after each
        /// append scans the unconsumed rest and consumes exactly up to the returned position, as the
        /// proxy's pump does; stops at Terminated or Violation.
        /// </summary>
        public static Pump Run(byte[] input, int chunk, bool frontend, int threshold)
        {
            var pump = new Pump();
            var scanner = new PgFrameScanner(frontend, MaxLength, threshold);
            ChunkSegment? last = null;
            SequencePosition start = default;
            int received = 0;
            do
            {
                int size = (int)Math.Min(chunk, (long)input.Length - received);
                var memory = input.AsMemory(received, size);
                if (last is null)
                {
                    last = new ChunkSegment(memory, 0);
                    start = new SequencePosition(last, 0);
                }
                else
                {
                    last = last.Append(memory);
                }

                received += size;
                var buffer = new ReadOnlySequence<byte>((ChunkSegment)start.GetObject()!, start.GetInteger(), last, last.Memory.Length);
                var status = scanner.Scan(buffer, out var forwardable);
                pump.Record(buffer.Slice(buffer.Start, forwardable), received, status, scanner);
                start = forwardable;
                if (status != PgScanStatus.NeedMoreData)
                {
                    break;
                }
            }
            while (received < input.Length);

            return pump;
        }

        /// <summary>The same through a real <see cref="Pipe"/>: write a chunk, flush, read, scan, AdvanceTo(forwardable, end).</summary>
        public static async Task<Pump> ThroughPipeAsync(byte[] input, int chunk, bool frontend, int threshold)
        {
            var pump = new Pump();
            var scanner = new PgFrameScanner(frontend, MaxLength, threshold);
            var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, minimumSegmentSize: 16, useSynchronizationContext: false));
            int received = 0;
            while (received < input.Length)
            {
                int size = (int)Math.Min(chunk, (long)input.Length - received);
                pipe.Writer.Write(input.AsSpan(received, size));
                await pipe.Writer.FlushAsync();
                received += size;

                ReadResult result = await pipe.Reader.ReadAsync();
                var buffer = result.Buffer;
                var status = scanner.Scan(buffer, out var forwardable);
                pump.Record(buffer.Slice(buffer.Start, forwardable), received, status, scanner);
                pipe.Reader.AdvanceTo(forwardable, buffer.End);
                if (status != PgScanStatus.NeedMoreData)
                {
                    break;
                }
            }

            await pipe.Writer.CompleteAsync();
            await pipe.Reader.CompleteAsync();
            return pump;
        }

        /// <summary>After each step, the bytes forwarded so far and the status are what the framing rules say for the bytes received so far.</summary>
        public void AssertEveryStepMatchesTheModel(byte[] input, bool frontend, int threshold)
        {
            foreach (var step in Steps)
            {
                var expected = Model(input.AsSpan(0, (int)step.Received), frontend, threshold);
                if (expected != (step.Forwarded, step.Status, step.MidFrame))
                {
                    throw new XunitException(
                        $"after {step.Received} bytes: forwarded {step.Forwarded}, {step.Status}, mid-frame {step.MidFrame}; expected {expected}");
                }
            }
        }

        private void Record(ReadOnlySequence<byte> forward, int received, PgScanStatus status, in PgFrameScanner scanner)
        {
            _forwarded.AddRange(forward.ToArray());
            Status = status;
            MidFrame = scanner.MidFrame;
            LastType = scanner.LastType;
            ViolationReason = status == PgScanStatus.Violation ? scanner.ViolationReason : null;
            Steps.Add(new Step(received, _forwarded.Count, status, MidFrame, LastType));
        }
    }
}
