using System.Buffers;
using Wire.Enforcement;
using Wire.Http.Protocol;
using Wire.Testing;

namespace Wire.Http.Tests.Protocol;

public sealed class Http1WebSocketFrameHeaderTests
{
    private static Http1WebSocketFrameHeader Read(byte[] header, bool fromClient)
    {
        var input = Bytes.Concat(header, [0xEE]);
        Http1WebSocketFrameHeader? first = null;
        Segmentation.ForEach(input, sequence =>
        {
            var reader = new SequenceReader<byte>(sequence);
            Assert.True(Http1WebSocketFrameHeader.TryRead(ref reader, fromClient, out var parsed));
            Assert.Equal([0xEE], Segmentation.Rest(reader));
            Assert.Equal(first ?? parsed, parsed);
            first = parsed;
        });
        for (int length = 0; length < header.Length; length++)
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(header, 0, length));
            Assert.False(Http1WebSocketFrameHeader.TryRead(ref reader, fromClient, out _));
            Assert.Equal(0, reader.Consumed);
        }
        return first!.Value;
    }

    [Fact]
    public void Headers_of_every_length_encoding_are_read()
    {
        Assert.Equal(new Http1WebSocketFrameHeader(true, Http1WebSocketOpcode.Text, true, 0x01020304, 5, 6),
            Read([0x81, 0x85, 1, 2, 3, 4], fromClient: true));
        Assert.Equal(new Http1WebSocketFrameHeader(false, Http1WebSocketOpcode.Binary, false, 0, 300, 4),
            Read([0x02, 126, 0x01, 0x2C], fromClient: false));
        Assert.Equal(new Http1WebSocketFrameHeader(true, Http1WebSocketOpcode.Continuation, true, 0xAABBCCDD, 70000, 14),
            Read([0x80, 0xFF, 0, 0, 0, 0, 0, 1, 0x11, 0x70, 0xAA, 0xBB, 0xCC, 0xDD], fromClient: true));
        Assert.True(Read([0x89, 0x00], fromClient: false).IsControl);
    }

    [Theory]
    [InlineData(new byte[] { 0xC1, 0x80, 0, 0, 0, 0 }, true, "RSV")]
    [InlineData(new byte[] { 0x83, 0x80, 0, 0, 0, 0 }, true, "opcode")]
    [InlineData(new byte[] { 0x8B, 0x80, 0, 0, 0, 0 }, true, "opcode")]
    [InlineData(new byte[] { 0x81, 0x05 }, true, "not masked")]
    [InlineData(new byte[] { 0x81, 0x85, 0, 0, 0, 0 }, false, "is masked")]
    [InlineData(new byte[] { 0x09, 0x80, 0, 0, 0, 0 }, true, "control frame")]
    [InlineData(new byte[] { 0x89, 0xFE, 0, 126, 0, 0, 0, 0 }, true, "control frame")]
    [InlineData(new byte[] { 0x82, 126, 0, 100 }, false, "minimally")]
    [InlineData(new byte[] { 0x82, 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF }, false, "minimally")]
    [InlineData(new byte[] { 0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0 }, false, "top bit")]
    public void Frames_that_break_rfc_6455_are_refused(byte[] header, bool fromClient, string reason)
    {
        var e = Assert.Throws<ProtocolViolationException>(() =>
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(header));
            Http1WebSocketFrameHeader.TryRead(ref reader, fromClient, out _);
        });
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Masking_in_pieces_equals_masking_at_once_and_undoes_itself()
    {
        byte[] payload = [.. Enumerable.Range(0, 37).Select(i => (byte)(i * 7))];
        var whole = payload.ToArray();
        Http1WebSocketFrameHeader.ApplyMask(0xDEADBEEF, 0, whole);
        var pieces = payload.ToArray();
        Http1WebSocketFrameHeader.ApplyMask(0xDEADBEEF, 0, pieces.AsSpan(0, 3));
        Http1WebSocketFrameHeader.ApplyMask(0xDEADBEEF, 3, pieces.AsSpan(3, 10));
        Http1WebSocketFrameHeader.ApplyMask(0xDEADBEEF, 13, pieces.AsSpan(13));
        Assert.Equal(whole, pieces);
        Assert.Equal(0xDE ^ payload[0], whole[0]);
        Assert.Equal(0xAD ^ payload[1], whole[1]);
        Http1WebSocketFrameHeader.ApplyMask(0xDEADBEEF, 0, whole);
        Assert.Equal(payload, whole);
    }
}
