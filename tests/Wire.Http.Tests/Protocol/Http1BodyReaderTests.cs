using System.Buffers;
using System.Text;
using Wire.Enforcement;
using Wire.Http.Protocol;
using Wire.Testing;

namespace Wire.Http.Tests.Protocol;

public sealed class Http1BodyReaderTests
{
    private static byte[] Ascii(string text) => Encoding.Latin1.GetBytes(text);

    /// <summary>
    /// Feeds <paramref name="input"/> as a pipe would, <paramref name="step"/> bytes more each time, reading what it can
    /// from the unconsumed rest; returns the payload, the framing, and what was left after the body.
    /// </summary>
    private static (string Payload, string Framing, string Left) Read(byte[] input, Http1BodyKind kind, long length, int step)
    {
        var reader = Http1BodyReader.Create(kind, length, Http1Limits.Default, request: true);
        var payload = new StringBuilder();
        var framing = new StringBuilder();
        int consumed = 0;
        for (int available = Math.Min(step, input.Length); ; available = Math.Min(available + step, input.Length))
        {
            var sequence = Segmentation.SplitAt(input[consumed..available], Math.Min(1, available - consumed));
            var sequenceReader = new SequenceReader<byte>(sequence);
            while (!reader.IsComplete && reader.TryRead(ref sequenceReader, out var part, out bool isPayload))
            {
                (isPayload ? payload : framing).Append(Encoding.Latin1.GetString(part.ToArray()));
            }
            consumed += (int)sequenceReader.Consumed;
            if (reader.IsComplete || available == input.Length)
            {
                return (payload.ToString(), framing.ToString(), Encoding.Latin1.GetString(input[consumed..]));
            }
        }
    }

    private static void EveryArrival(string body, Http1BodyKind kind, long length, string payload, string framing, string rest)
    {
        var input = Ascii(body);
        for (int step = 1; step <= input.Length; step++)
        {
            Assert.Equal((payload, framing, rest), Read(input, kind, length, step));
        }
    }

    [Fact]
    public void A_content_length_body_ends_at_its_length() =>
        EveryArrival("hello worldNEXT", Http1BodyKind.ContentLength, 11, "hello world", "", "NEXT");

    [Fact]
    public void A_chunked_body_gives_payload_and_framing_apart() =>
        EveryArrival("5\r\nhello\r\n6;name=\"v a\"\r\n world\r\n0\r\n\r\nNEXT", Http1BodyKind.Chunked, 0,
            "hello world", "5\r\n\r\n6;name=\"v a\"\r\n\r\n0\r\n\r\n", "NEXT");

    [Fact]
    public void Trailers_and_leading_zeros_and_upper_case_hex_are_accepted() =>
        EveryArrival("000A\r\n0123456789\r\n00 ;x\r\nDigest: abc\r\nX-Other: 1\r\n\r\nNEXT", Http1BodyKind.Chunked, 0,
            "0123456789", "000A\r\n\r\n00 ;x\r\nDigest: abc\r\nX-Other: 1\r\n\r\n", "NEXT");

    [Fact]
    public void A_close_delimited_body_never_completes_by_itself()
    {
        var reader = Http1BodyReader.Create(Http1BodyKind.CloseDelimited, 0, Http1Limits.Default, request: false);
        var sequence = new SequenceReader<byte>(new ReadOnlySequence<byte>("all of it"u8.ToArray()));
        Assert.True(reader.TryRead(ref sequence, out var part, out bool isPayload));
        Assert.True(isPayload);
        Assert.Equal("all of it"u8.ToArray(), part.ToArray());
        Assert.True(reader.EndsAtClose);
        Assert.False(reader.IsComplete);
        Assert.False(reader.TryRead(ref sequence, out _, out _));
    }

    [Fact]
    public void No_body_is_complete_at_once()
    {
        Assert.True(Http1BodyReader.Create(Http1BodyKind.None, 0, Http1Limits.Default, request: true).IsComplete);
        Assert.True(Http1BodyReader.Create(Http1BodyKind.ContentLength, 0, Http1Limits.Default, request: true).IsComplete);
    }

    [Theory]
    [InlineData("zz\r\n", "not hexadecimal")]
    [InlineData("\r\n", "not hexadecimal")]
    [InlineData(" 5\r\nhello\r\n0\r\n\r\n", "not hexadecimal")]
    [InlineData("-5\r\n", "not hexadecimal")]
    [InlineData("0x5\r\n", "extension")]
    [InlineData("5 \r\nhello\r\n", "extension")]
    [InlineData("5;a=\u0001\r\nhello\r\n", "extension")]
    [InlineData("5;a\rb\r\nhello\r\n", "extension")]
    [InlineData("5\nhello\r\n", "bare LF")]
    [InlineData("5\r\nhelloX\r\n", "not followed by CRLF")]
    [InlineData("5\r\nhello\n0\r\n\r\n", "not followed by CRLF")]
    [InlineData("10000000000000000\r\n", "too large")]
    [InlineData("8000000000000000\r\n", "too large")]
    [InlineData("0\r\nX: a\r\n b\r\n\r\n", "obs-fold")]
    [InlineData("0\r\nX: a\n\r\n", "bare LF")]
    [InlineData("0\r\nX : a\r\n\r\n", "not a token")]
    public void Malformed_chunked_framing_is_refused(string body, string reason)
    {
        var input = Ascii(body);
        Segmentation.ForEach(input, sequence =>
        {
            var reader = Http1BodyReader.Create(Http1BodyKind.Chunked, 0, Http1Limits.Default, request: true);
            var e = Assert.Throws<ProtocolViolationException>(() =>
            {
                var sequenceReader = new SequenceReader<byte>(sequence);
                while (reader.TryRead(ref sequenceReader, out _, out _))
                {
                }
            });
            Assert.Contains(reason, e.Message, StringComparison.Ordinal);
            Assert.Equal(400, e.Code);
        });
    }

    /// <summary>Reads parts from <paramref name="input"/> until the reader stops; returns the violation, if any.</summary>
    private static ProtocolViolationException? ReadUntilStuck(ref Http1BodyReader reader, byte[] input, out int parts)
    {
        parts = 0;
        var sequence = new SequenceReader<byte>(new ReadOnlySequence<byte>(input));
        try
        {
            while (!reader.IsComplete && reader.TryRead(ref sequence, out _, out _))
            {
                parts++;
            }
            return null;
        }
        catch (ProtocolViolationException e)
        {
            return e;
        }
    }

    [Fact]
    public void The_largest_chunk_size_is_accepted_and_response_violations_are_502()
    {
        var reader = Http1BodyReader.Create(Http1BodyKind.Chunked, 0, Http1Limits.Default, request: false);
        Assert.Null(ReadUntilStuck(ref reader, "7fffffffffffffff\r\nab"u8.ToArray(), out _));
        Assert.Equal(long.MaxValue - 2, reader.Remaining);

        reader = Http1BodyReader.Create(Http1BodyKind.Chunked, 0, Http1Limits.Default, request: false);
        Assert.Equal(502, ReadUntilStuck(ref reader, "g\r\n"u8.ToArray(), out _)?.Code);
    }

    [Fact]
    public void A_chunk_line_or_trailer_section_over_its_limit_is_refused_before_it_ends()
    {
        var limits = new Http1Limits { MaxChunkLineBytes = 64, MaxHeadBytes = 1024, MaxHeaderCount = 2 };
        var reader = Http1BodyReader.Create(Http1BodyKind.Chunked, 0, limits, request: true);
        Assert.Contains("longer than the limit", ReadUntilStuck(ref reader, Ascii("5;" + new string('x', 100)), out _)?.Message, StringComparison.Ordinal);

        reader = Http1BodyReader.Create(Http1BodyKind.Chunked, 0, limits, request: true);
        var e = ReadUntilStuck(ref reader, Ascii("0\r\n" + "X: " + new string('x', 1100)), out int parts);
        Assert.Equal((1, 431), (parts, e?.Code));
        Assert.Contains("trailer section", e?.Message, StringComparison.Ordinal);

        reader = Http1BodyReader.Create(Http1BodyKind.Chunked, 0, limits, request: true);
        Assert.Contains("too many trailer", ReadUntilStuck(ref reader, Ascii("0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), out _)?.Message, StringComparison.Ordinal);
    }
}
