using Wire.Testing;
using System.Buffers;
using System.Buffers.Binary;
using Wire.Postgres.Protocol;
using ProtocolViolationException = Wire.Enforcement.ProtocolViolationException;
using static Wire.Postgres.Tests.Protocol.PgTestFrames;

namespace Wire.Postgres.Tests.Protocol;

public sealed class PgFrameReaderTests
{
    private const int MaxLength = 1 << 20;
    private const string InvalidLength = "invalid message length";
    private const string TooLong = "message length exceeds the configured maximum";

    /// <summary>
    /// Tagged frontend messages of protocol 3.0, from the message-formats page:
    /// https://www.postgresql.org/docs/current/protocol-message-formats.html
    /// </summary>
    private static readonly byte[] FrontendTypes =
    [
        (byte)'B', // Bind
        (byte)'C', // Close
        (byte)'d', // CopyData
        (byte)'c', // CopyDone
        (byte)'f', // CopyFail
        (byte)'D', // Describe
        (byte)'E', // Execute
        (byte)'H', // Flush
        (byte)'F', // FunctionCall
        (byte)'p', // GSSResponse, PasswordMessage, SASLInitialResponse, SASLResponse
        (byte)'P', // Parse
        (byte)'Q', // Query
        (byte)'S', // Sync
        (byte)'X', // Terminate
    ];

    /// <summary>Tagged backend messages of protocol 3.0, from the same page.</summary>
    private static readonly byte[] BackendTypes =
    [
        (byte)'R', // Authentication*
        (byte)'K', // BackendKeyData
        (byte)'2', // BindComplete
        (byte)'3', // CloseComplete
        (byte)'C', // CommandComplete
        (byte)'d', // CopyData
        (byte)'c', // CopyDone
        (byte)'G', // CopyInResponse
        (byte)'H', // CopyOutResponse
        (byte)'W', // CopyBothResponse
        (byte)'D', // DataRow
        (byte)'I', // EmptyQueryResponse
        (byte)'E', // ErrorResponse
        (byte)'V', // FunctionCallResponse
        (byte)'v', // NegotiateProtocolVersion
        (byte)'n', // NoData
        (byte)'N', // NoticeResponse
        (byte)'A', // NotificationResponse
        (byte)'t', // ParameterDescription
        (byte)'S', // ParameterStatus
        (byte)'1', // ParseComplete
        (byte)'s', // PortalSuspended
        (byte)'Z', // ReadyForQuery
        (byte)'T', // RowDescription
    ];

    [Fact]
    public void Length_counts_itself_but_not_the_type_byte()
    {
        // ReadyForQuery (idle), as captured: 'Z', length 5, 'I'.
        byte[] readyForQuery = [(byte)'Z', 0, 0, 0, 5, (byte)'I'];
        Assert.Equal(readyForQuery, Frame((byte)'Z', [(byte)'I']));

        Segmentation.ForEach(readyForQuery, sequence =>
        {
            var reader = new SequenceReader<byte>(sequence);
            Assert.True(PgFrameReader.TryReadFrame(ref reader, MaxLength, out byte type, out var body));
            Assert.Equal((byte)'Z', type);
            Assert.Equal([(byte)'I'], body.ToArray());
            Assert.True(reader.End);
        });
    }

    [Fact]
    public void Backend_stream_yields_the_same_frames_on_every_segmentation()
    {
        AssertStreamDecodes(SelectResponse);
    }

    [Fact]
    public void Frontend_stream_yields_the_same_frames_on_every_segmentation()
    {
        AssertStreamDecodes(SelectRequest);
    }

    [Fact]
    public void Header_scan_with_manual_body_skip_finds_the_same_boundaries()
    {
        byte[] stream = Stream(SelectResponse);
        Segmentation.ForEach(stream, sequence =>
        {
            var reader = new SequenceReader<byte>(sequence);
            foreach (var (expectedType, expectedBody) in SelectResponse)
            {
                long start = reader.Consumed;
                Assert.True(PgFrameReader.TryReadHeader(ref reader, MaxLength, out byte type, out int length));
                Assert.Equal(expectedType, type);
                Assert.Equal(expectedBody.Length + 4, length);
                Assert.Equal(start + PgFrameReader.HeaderLength, reader.Consumed);
                Assert.Equal(expectedBody, reader.UnreadSequence.Slice(0, length - 4).ToArray());
                reader.Advance(length - 4);
            }

            Assert.True(reader.End);
            Assert.False(PgFrameReader.TryReadHeader(ref reader, MaxLength, out _, out _));
        });
    }

    [Fact]
    public void Every_strict_prefix_of_a_frame_returns_false_and_consumes_nothing()
    {
        foreach (var (type, body) in SelectResponse.Concat(SelectRequest))
        {
            byte[] frame = Frame(type, body);
            for (int n = 0; n < frame.Length; n++)
            {
                byte[] prefix = frame[..n];
                Segmentation.ForEach(prefix, sequence =>
                {
                    var reader = new SequenceReader<byte>(sequence);
                    Assert.False(PgFrameReader.TryReadFrame(ref reader, MaxLength, out _, out var partialBody));
                    Assert.Equal(0, reader.Consumed);
                    Assert.True(partialBody.IsEmpty);

                    reader = new SequenceReader<byte>(sequence);
                    bool header = PgFrameReader.TryReadHeader(ref reader, MaxLength, out byte headerType, out int length);
                    Assert.Equal(n >= PgFrameReader.HeaderLength, header);
                    if (header)
                    {
                        Assert.Equal(type, headerType);
                        Assert.Equal(body.Length + 4, length);
                        Assert.Equal(PgFrameReader.HeaderLength, reader.Consumed);
                    }
                    else
                    {
                        Assert.Equal(0, reader.Consumed);
                    }
                });
            }
        }
    }

    [Fact]
    public void Bytes_after_the_frame_are_left_unread()
    {
        byte[] trailer = [0xDE, 0xAD, 0xBE, 0xEF, (byte)'Z', 0, 0];
        foreach (var (type, body) in SelectResponse)
        {
            byte[] frame = Frame(type, body);
            byte[] input = Concat(frame, trailer);
            Segmentation.ForEach(input, sequence =>
            {
                var reader = new SequenceReader<byte>(sequence);
                Assert.True(PgFrameReader.TryReadFrame(ref reader, MaxLength, out byte readType, out var readBody));
                Assert.Equal(type, readType);
                Assert.Equal(body, readBody.ToArray());
                Assert.Equal(frame.Length, reader.Consumed);
                Assert.Equal(trailer, Segmentation.Rest(reader));

                // The trailer is an incomplete header: nothing more is taken.
                reader.Advance(4);
                Assert.False(PgFrameReader.TryReadFrame(ref reader, MaxLength, out _, out _));
                Assert.Equal(frame.Length + 4, reader.Consumed);
            });
        }
    }

    [Fact]
    public void Frame_is_read_from_a_reader_that_is_not_at_the_start()
    {
        // Bytes already consumed by the caller precede the frame, so its header starts mid-segment
        // (or, on some segmentations, straddles the segment that held them).
        byte[] consumedAlready = [0x11, 0x22, 0x33];
        byte[] frame = Frame((byte)'C', CString("SELECT 3"));
        Segmentation.ForEach(Concat(consumedAlready, frame), sequence =>
        {
            var reader = new SequenceReader<byte>(sequence);
            reader.Advance(consumedAlready.Length);
            Assert.True(PgFrameReader.TryReadFrame(ref reader, MaxLength, out byte type, out var body));
            Assert.Equal((byte)'C', type);
            Assert.Equal(CString("SELECT 3"), body.ToArray());
            Assert.True(reader.End);
        });
    }

    [Fact]
    public void Header_split_across_segments_is_read()
    {
        byte[] frame = Frame((byte)'C', CString("SELECT 3"));
        int[][] cuts = [[1], [2], [3], [4], [1, 2, 3, 4], [1, 3], [2, 4, 5], [4, 5]];
        foreach (var cut in cuts)
        {
            var reader = new SequenceReader<byte>(Segmentation.SplitAt(frame, cut));
            Assert.True(PgFrameReader.TryReadHeader(ref reader, MaxLength, out byte type, out int length));
            Assert.Equal((byte)'C', type);
            Assert.Equal(4 + 9, length);
            Assert.Equal(PgFrameReader.HeaderLength, reader.Consumed);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(-1)]
    [InlineData(-4)]
    [InlineData(int.MinValue)]
    public void Length_below_four_is_a_violation_on_every_segmentation(int length)
    {
        AssertViolation(length, MaxLength, InvalidLength);
    }

    [Theory]
    [InlineData(MaxLength + 1)]
    [InlineData(MaxLength + 5)]
    [InlineData(int.MaxValue)]
    public void Length_above_the_maximum_is_a_violation_on_every_segmentation(int length)
    {
        AssertViolation(length, MaxLength, TooLong);
    }

    [Theory]
    [InlineData(4, 4)]
    [InlineData(5, 5)]
    [InlineData(100, 100)]
    public void Length_equal_to_the_maximum_is_accepted(int length, int maxLength)
    {
        byte[] frame = Frame((byte)'d', new byte[length - 4]);
        Segmentation.ForEach(frame, sequence =>
        {
            var reader = new SequenceReader<byte>(sequence);
            Assert.True(PgFrameReader.TryReadFrame(ref reader, maxLength, out _, out var body));
            Assert.Equal(length - 4, body.Length);
        });

        frame = Frame((byte)'d', new byte[length - 3]);
        Segmentation.ForEach(frame, sequence =>
        {
            var e = Assert.Throws<ProtocolViolationException>(() =>
            {
                var reader = new SequenceReader<byte>(sequence);
                PgFrameReader.TryReadFrame(ref reader, maxLength, out _, out _);
            });
            Assert.Equal(TooLong, e.Message);
        });
    }

    [Fact]
    public void Empty_body_frame_is_read()
    {
        byte[] terminate = [(byte)'X', 0, 0, 0, 4];
        Segmentation.ForEach(terminate, sequence =>
        {
            var reader = new SequenceReader<byte>(sequence);
            Assert.True(PgFrameReader.TryReadFrame(ref reader, MaxLength, out byte type, out var body));
            Assert.Equal((byte)'X', type);
            Assert.True(body.IsEmpty);
            Assert.True(reader.End);
        });
    }

    [Fact]
    public void Frontend_types_are_exactly_those_of_protocol_3()
    {
        for (int b = 0; b <= 255; b++)
        {
            Assert.True(
                FrontendTypes.Contains((byte)b) == PgFrameReader.IsFrontendType((byte)b),
                $"IsFrontendType(0x{b:X2} '{(char)b}') should be {FrontendTypes.Contains((byte)b)}");
        }
    }

    [Fact]
    public void Backend_types_are_exactly_those_of_protocol_3()
    {
        for (int b = 0; b <= 255; b++)
        {
            Assert.True(
                BackendTypes.Contains((byte)b) == PgFrameReader.IsBackendType((byte)b),
                $"IsBackendType(0x{b:X2} '{(char)b}') should be {BackendTypes.Contains((byte)b)}");
        }
    }

    [Fact]
    public void Test_vectors_use_only_valid_types()
    {
        Assert.All(SelectResponse, f => Assert.True(PgFrameReader.IsBackendType(f.Type)));
        Assert.All(SelectRequest, f => Assert.True(PgFrameReader.IsFrontendType(f.Type)));
    }

    private static void AssertStreamDecodes((byte Type, byte[] Body)[] expected)
    {
        byte[] stream = Stream(expected);
        Segmentation.ForEach(stream, sequence =>
        {
            var reader = new SequenceReader<byte>(sequence);
            var frames = new List<(byte Type, byte[] Body)>();
            long consumed = 0;
            while (PgFrameReader.TryReadFrame(ref reader, MaxLength, out byte type, out var body))
            {
                frames.Add((type, body.ToArray()));
                Assert.Equal(consumed + PgFrameReader.HeaderLength + body.Length, reader.Consumed);
                consumed = reader.Consumed;
            }

            Assert.True(reader.End);
            Assert.Equal(expected.Length, frames.Count);
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.Equal(expected[i].Type, frames[i].Type);
                Assert.Equal(expected[i].Body, frames[i].Body);
            }
        });
    }

    /// <summary>
    /// The header alone must be enough to reject a bad length (the body is never awaited), and with a
    /// body present the answer is the same. The reader is not advanced past the bad header.
    /// </summary>
    private static void AssertViolation(int length, int maxLength, string reason)
    {
        byte[] header = new byte[PgFrameReader.HeaderLength];
        header[0] = (byte)'D';
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(1), length);
        byte[][] inputs = [header, Concat(header, [1, 2, 3, 4, 5, 6, 7, 8])];
        foreach (var input in inputs)
        {
            Segmentation.ForEach(input, sequence =>
            {
                var reader = new SequenceReader<byte>(sequence);
                var e = Capture(ref reader, maxLength, frame: true);
                Assert.Equal(reason, Assert.IsType<ProtocolViolationException>(e).Message);
                Assert.Equal(0, reader.Consumed);

                reader = new SequenceReader<byte>(sequence);
                e = Capture(ref reader, maxLength, frame: false);
                Assert.Equal(reason, Assert.IsType<ProtocolViolationException>(e).Message);
                Assert.Equal(0, reader.Consumed);
            });
        }
    }

    private static Exception? Capture(ref SequenceReader<byte> reader, int maxLength, bool frame)
    {
        try
        {
            _ = frame
                ? PgFrameReader.TryReadFrame(ref reader, maxLength, out _, out _)
                : PgFrameReader.TryReadHeader(ref reader, maxLength, out _, out _);
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }
}
