using System.Buffers;
using System.Text;
using Wire.Enforcement;
using Wire.Http.Protocol;
using Wire.Testing;

namespace Wire.Http.Tests.Protocol;

public sealed class Http1ParserTests
{
    private static readonly byte[] Next = "NEXT"u8.ToArray();

    private static byte[] Ascii(string text) => Encoding.Latin1.GetBytes(text);

    /// <summary>Parses a request head on every segmentation; all must agree, consume exactly the head and leave <see cref="Next"/>.</summary>
    private static (Http1RequestHead Head, List<string> Events) Request(string head)
    {
        var bytes = Bytes.Concat(Ascii(head), Next);
        (Http1RequestHead, List<string>)? first = null;
        Segmentation.ForEach(bytes, sequence =>
        {
            var reader = new SequenceReader<byte>(sequence);
            var handler = new RecordingHeadHandler();
            Assert.True(Http1Parser.TryParseRequestHead(ref reader, ref handler, Http1Limits.Default, out var parsed));
            Assert.Equal(Next, Segmentation.Rest(reader));
            if (first is { } expected)
            {
                Assert.Equal(expected.Item1, parsed);
                Assert.Equal(expected.Item2, handler.Events);
            }
            first = (parsed, handler.Events);
        });
        AssertEveryPrefixIsIncomplete(Ascii(head), request: true);
        return first!.Value;
    }

    private static (Http1ResponseHead Head, List<string> Events) Response(string head, Http1Method method = Http1Method.Get)
    {
        var bytes = Bytes.Concat(Ascii(head), Next);
        (Http1ResponseHead, List<string>)? first = null;
        Segmentation.ForEach(bytes, sequence =>
        {
            var reader = new SequenceReader<byte>(sequence);
            var handler = new RecordingHeadHandler();
            Assert.True(Http1Parser.TryParseResponseHead(ref reader, ref handler, Http1Limits.Default, method, out var parsed));
            Assert.Equal(Next, Segmentation.Rest(reader));
            if (first is { } expected)
            {
                Assert.Equal(expected.Item1, parsed);
                Assert.Equal(expected.Item2, handler.Events);
            }
            first = (parsed, handler.Events);
        });
        AssertEveryPrefixIsIncomplete(Ascii(head), request: false);
        return first!.Value;
    }

    private static void AssertEveryPrefixIsIncomplete(byte[] head, bool request)
    {
        for (int length = 0; length < head.Length; length++)
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(head, 0, length));
            var handler = new RecordingHeadHandler();
            bool complete = request
                ? Http1Parser.TryParseRequestHead(ref reader, ref handler, Http1Limits.Default, out _)
                : Http1Parser.TryParseResponseHead(ref reader, ref handler, Http1Limits.Default, Http1Method.Get, out _);
            Assert.False(complete, $"prefix of {length} bytes");
            Assert.Equal(0, reader.Consumed);
            Assert.Empty(handler.Events);
        }
    }

    private static ProtocolViolationException Refused(string head, Http1Limits? limits = null)
    {
        var bytes = Ascii(head);
        ProtocolViolationException? first = null;
        Segmentation.ForEach(bytes, sequence =>
        {
            var e = Assert.Throws<ProtocolViolationException>(() =>
            {
                var reader = new SequenceReader<byte>(sequence);
                var handler = new RecordingHeadHandler();
                Http1Parser.TryParseRequestHead(ref reader, ref handler, limits ?? Http1Limits.Default, out _);
            });
            Assert.Equal(first?.Message ?? e.Message, e.Message);
            first = e;
        });
        return first!;
    }

    private static ProtocolViolationException RefusedResponse(string head, Http1Method method = Http1Method.Get)
    {
        var sequence = new ReadOnlySequence<byte>(Ascii(head));
        var e = Assert.Throws<ProtocolViolationException>(() =>
        {
            var reader = new SequenceReader<byte>(sequence);
            var handler = new RecordingHeadHandler();
            Http1Parser.TryParseResponseHead(ref reader, ref handler, Http1Limits.Default, method, out _);
        });
        Assert.Equal(502, e.Code);
        return e;
    }

    [Fact]
    public void A_request_head_reports_its_line_and_fields_in_order()
    {
        const string Text = "GET /api/v1/namespaces/default/pods?watch=true HTTP/1.1\r\nHost: kube:6443\r\nAccept:  application/json \r\nX-Empty:\r\n\r\n";
        var (head, events) = Request(Text);

        Assert.Equal(new Http1RequestHead(Http1Method.Get, Http1Version.Http11, Http1TargetForm.Origin, Http1BodyKind.None, 0, KeepAlive: true,
            Upgrade: false, ExpectContinue: false, HeadLength: Text.Length), head);
        Assert.Equal(
        [
            "Get GET /api/v1/namespaces/default/pods?watch=true Http11",
            "Host=kube:6443|Host: kube:6443",
            "Accept=application/json|Accept:  application/json ",
            "X-Empty=|X-Empty:",
        ], events);
    }

    [Fact]
    public void Empty_lines_before_a_request_are_skipped()
    {
        var (head, events) = Request("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Equal(27, head.HeadLength);
        Assert.Equal("Get GET / Http11", events[0]);
    }

    [Theory]
    [InlineData("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", "ContentLength", 5)]
    [InlineData("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n", "ContentLength", 5)]
    [InlineData("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", "ContentLength", 0)]
    [InlineData("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", "Chunked", 0)]
    [InlineData("DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n", "None", 0)]
    public void Request_bodies_are_framed_by_content_length_or_chunked(string text, string kind, long length)
    {
        var (head, _) = Request(text);
        Assert.Equal(kind, head.Body.ToString());
        Assert.Equal(length, head.ContentLength);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n\r\n", true)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nConnection: TE, Close\r\n\r\n", false)]
    [InlineData("GET / HTTP/1.0\r\n\r\n", false)]
    [InlineData("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true)]
    public void Keep_alive_follows_the_version_and_connection_options(string text, bool keepAlive) =>
        Assert.Equal(keepAlive, Request(text).Head.KeepAlive);

    [Fact]
    public void Upgrade_needs_both_the_connection_option_and_the_field()
    {
        Assert.True(Request("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n").Head.Upgrade);
        Assert.False(Request("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n").Head.Upgrade);
    }

    [Fact]
    public void Expect_100_continue_is_reported_and_other_expectations_are_417()
    {
        Assert.True(Request("PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n").Head.ExpectContinue);
        Assert.Equal(417, Refused("PUT /x HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n").Code);
    }

    [Fact]
    public void Target_forms_are_told_apart()
    {
        Assert.Equal(Http1TargetForm.Asterisk, Request("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").Head.TargetForm);
        Assert.Equal(Http1TargetForm.Absolute, Request("GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n").Head.TargetForm);
        Assert.Equal(Http1Method.Other, Request("PROPFIND /x HTTP/1.1\r\nHost: a\r\n\r\n").Head.Method);
    }

    [Theory]
    // Smuggling vectors and framing conflicts.
    [InlineData("GET / HTTP/1.1\nHost: a\r\n\r\n", 400, "bare LF")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\n\r\n", 400, "bare LF")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n\n", 400, "bare LF")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400, "control")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n", 400, "obs-fold")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\tc\r\n\r\n", 400, "obs-fold")]
    [InlineData("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "not a token")]
    [InlineData("GET / HTTP/1.1\r\nHost:\ta\r\nContent-Length\t: 5\r\n\r\n", 400, "not a token")]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "together")]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400, "together")]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400, "differ")]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", 400, "not a number")]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400, "not a number")]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", 400, "not a number")]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1234567890123456789\r\n\r\n", 400, "not a number")]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400, "not a number")]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "chunked")]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, "chunked")]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 501, "chunked")]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", 501, "chunked")]
    [InlineData("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "HTTP/1.0")]
    // Host.
    [InlineData("GET / HTTP/1.1\r\n\r\n", 400, "no Host")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400, "more than one Host")]
    [InlineData("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400, "Host value")]
    [InlineData("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "Host value")]
    [InlineData("GET / HTTP/1.1\r\nHost:\r\n\r\n", 400, "Host value")]
    // Request line.
    [InlineData("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "no target")]
    [InlineData(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "no method")]
    [InlineData("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, "version")]
    [InlineData("GET / http/1.1\r\nHost: a\r\n\r\n", 400, "version")]
    [InlineData("GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400, "version")]
    [InlineData("GET /\r\nHost: a\r\n\r\n", 400, "no target")]
    [InlineData("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "only HTTP/1.0 and HTTP/1.1")]
    [InlineData("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "not a token")]
    [InlineData("GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "target")]
    [InlineData("GET /\u00e9 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "target")]
    [InlineData("GET /\u0001 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "target")]
    [InlineData("GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "not a path")]
    [InlineData("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400, "asterisk")]
    [InlineData("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 501, "CONNECT")]
    [InlineData("CONNECT /x HTTP/1.1\r\nHost: a:443\r\n\r\n", 501, "CONNECT")]
    // Field values and names.
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX: a\u0000b\r\n\r\n", 400, "control")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX: \u007f\r\n\r\n", 400, "control")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX: caf\u00e9\r\n\r\n", 400, "non-ASCII")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400, "no name")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400, "no name")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nX\u0000Y: b\r\n\r\n", 400, "not a token")]
    public void Malformed_requests_are_refused_with_their_status(string text, int code, string reason)
    {
        var e = Refused(text);
        Assert.Equal(code, e.Code);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Heads_over_the_limits_are_refused_before_they_are_complete()
    {
        var limits = new Http1Limits { MaxHeadBytes = 1024, MaxHeaderCount = 3 };
        Assert.Equal(431, Refused("GET / HTTP/1.1\r\nHost: a\r\nX: " + new string('a', 1100), limits).Code);
        Assert.Equal(431, Refused("GET / HTTP/1.1\r\nHost: a\r\nX: " + new string('a', 1100) + "\r\n\r\n", limits).Code);
        Assert.Equal(431, Refused("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits).Code);
        Assert.Equal(3, Request("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n").Events.Count - 1);
    }

    [Fact]
    public void A_response_head_is_framed_by_status_method_and_fields()
    {
        const string Text = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n";
        var (head, events) = Response(Text);
        Assert.Equal(new Http1ResponseHead(Http1Version.Http11, 200, Http1BodyKind.ContentLength, 12, true, Text.Length), head);
        Assert.Equal(["Http11 200 OK", "Content-Type=application/json|Content-Type: application/json", "Content-Length=12|Content-Length: 12"], events);

        Assert.Equal(Http1BodyKind.Chunked, Response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").Head.Body);
        var close = Response("HTTP/1.1 200 OK\r\n\r\n").Head;
        Assert.Equal((Http1BodyKind.CloseDelimited, false), (close.Body, close.KeepAlive));
        Assert.Equal(Http1BodyKind.None, Response("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n").Head.Body);
        Assert.Equal(Http1BodyKind.None, Response("HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n").Head.Body);
        Assert.Equal(Http1BodyKind.None, Response("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", Http1Method.Head).Head.Body);
        Assert.True(Response("HTTP/1.1 100 Continue\r\n\r\n").Head.IsInterim);
        Assert.True(Response("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n").Head.IsSwitchingProtocols);
        Assert.False(Response("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n").Head.KeepAlive);
    }

    [Fact]
    public void Response_reason_phrases_may_be_empty_missing_or_latin1()
    {
        Assert.Equal("Http11 200 ", Response("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n").Events[0]);
        Assert.Equal("Http11 404 ", Response("HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n").Events[0]);
        Assert.Equal("X=caf\u00e9|X: caf\u00e9", Response("HTTP/1.1 200 OK\r\nX: caf\u00e9\r\nContent-Length: 0\r\n\r\n").Events[1]);
    }

    [Theory]
    [InlineData("HTTP/1.1 2000 OK\r\n\r\n")]
    [InlineData("HTTP/1.1 099 OK\r\n\r\n")]
    [InlineData("HTTP/1.1 600 OK\r\n\r\n")]
    [InlineData("HTTP/1.1 +20 OK\r\n\r\n")]
    [InlineData("HTTP/1.1  200 OK\r\n\r\n")]
    [InlineData("HTTP/2 200 OK\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n")]
    [InlineData("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")]
    [InlineData("HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n")]
    [InlineData("HTTP/1.1 200 OK\r\nX : a\r\n\r\n")]
    [InlineData("HTTP/1.1 200 O\u0001K\r\n\r\n")]
    public void Malformed_responses_are_refused_with_502(string text) => RefusedResponse(text);
}
