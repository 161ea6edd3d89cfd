using System.Buffers;
using System.Buffers.Text;
using System.Text;
using Wire.Enforcement;

namespace Wire.Http.Protocol;

/// <summary>
/// Strict HTTP/1.1 message heads (RFC 9112 §2-§6, RFC 9110 §5). Stateless: each call either consumes one whole head
/// and reports it through the handler, returns false having consumed nothing (incomplete), or throws
/// <see cref="ProtocolViolationException"/> with the status to answer (400 unless said otherwise).
/// </summary>
/// <remarks>
/// <para>
/// Everything request smuggling needs is refused rather than repaired: a bare LF or CR, obs-fold (a line starting with
/// whitespace), whitespace between a field name and its colon, control characters in a value, Content-Length together
/// with Transfer-Encoding, Content-Length values that differ or are not plain digits, any Transfer-Encoding other than
/// exactly <c>chunked</c> (501), Transfer-Encoding on HTTP/1.0, and a missing or repeated Host.
/// </para>
/// <code>
///   HTTP-message = start-line CRLF *( field-line CRLF ) CRLF [ message-body ]
///   request-line = method SP request-target SP HTTP-version
///   status-line  = HTTP-version SP status-code SP [ reason-phrase ]
///   field-line   = field-name ":" OWS field-value OWS
/// </code>
/// </remarks>
internal static class Http1Parser
{
    // RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    private static readonly SearchValues<byte> s_tokenChars =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"u8);

    // Request-target: visible ASCII except '#' (a fragment is never sent, RFC 9112 §3.2).
    private static readonly SearchValues<byte> s_targetChars = SearchValues.Create(Range(0x21, 0x7E, except: (byte)'#'));

    // field-value = *( VCHAR / obs-text / SP / HTAB ) with obs-text (0x80-0xFF) refused in requests.
    private static readonly SearchValues<byte> s_asciiValueChars = SearchValues.Create([(byte)'\t', .. Range(0x20, 0x7E)]);
    private static readonly SearchValues<byte> s_valueChars = SearchValues.Create([(byte)'\t', .. Range(0x20, 0x7E), .. Range(0x80, 0xFF)]);

    /// <summary>Parses one request head at the reader's position (leading empty lines are skipped, RFC 9112 §2.2).</summary>
    /// <returns>False when the head is not complete yet; nothing is consumed.</returns>
    /// <exception cref="ProtocolViolationException">The head is malformed or over a limit; <see cref="ProtocolViolationException.Code"/> is the status to answer.</exception>
    public static bool TryParseRequestHead<THandler>(ref SequenceReader<byte> reader, ref THandler handler, Http1Limits limits, out Http1RequestHead head)
        where THandler : struct, IHttp1HeadHandler
    {
        head = default;
        var buffer = reader.UnreadSequence;
        if (!TryFindHeadEnd(buffer, limits.MaxHeadBytes, skipEmptyLines: true, request: true, out long skip, out long length))
        {
            return false;
        }
        var bytes = buffer.Slice(skip, length);
        if (bytes.IsSingleSegment)
        {
            head = ParseRequest(bytes.FirstSpan, ref handler, limits);
        }
        else
        {
            // A head split over segments is copied once into a pooled buffer (at most MaxHeadBytes).
            byte[] rented = ArrayPool<byte>.Shared.Rent((int)length);
            try
            {
                bytes.CopyTo(rented);
                head = ParseRequest(rented.AsSpan(0, (int)length), ref handler, limits);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
        reader.Advance(skip + length);
        return true;
    }

    /// <summary>Parses one response head at the reader's position.</summary>
    /// <param name="reader">The upstream's bytes.</param>
    /// <param name="handler">Receives the status line and fields.</param>
    /// <param name="limits">The limits.</param>
    /// <param name="requestMethod">The method of the request this answers (a response to HEAD has no body).</param>
    /// <param name="head">The head's framing.</param>
    /// <returns>False when the head is not complete yet; nothing is consumed.</returns>
    /// <exception cref="ProtocolViolationException">The head is malformed or over a limit (answer the client 502).</exception>
    public static bool TryParseResponseHead<THandler>(ref SequenceReader<byte> reader, ref THandler handler, Http1Limits limits, Http1Method requestMethod,
        out Http1ResponseHead head)
        where THandler : struct, IHttp1HeadHandler
    {
        head = default;
        var buffer = reader.UnreadSequence;
        if (!TryFindHeadEnd(buffer, limits.MaxHeadBytes, skipEmptyLines: false, request: false, out _, out long length))
        {
            return false;
        }
        var bytes = buffer.Slice(0, length);
        if (bytes.IsSingleSegment)
        {
            head = ParseResponse(bytes.FirstSpan, ref handler, limits, requestMethod);
        }
        else
        {
            byte[] rented = ArrayPool<byte>.Shared.Rent((int)length);
            try
            {
                bytes.CopyTo(rented);
                head = ParseResponse(rented.AsSpan(0, (int)length), ref handler, limits, requestMethod);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
        reader.Advance(length);
        return true;
    }

    /// <summary>
    /// Finds the empty line that ends a head in the first <paramref name="maxHeadBytes"/> bytes. Every LF must follow a
    /// CR. <paramref name="skip"/> counts leading empty lines (requests only), <paramref name="length"/> the head itself.
    /// </summary>
    internal static bool TryFindHeadEnd(in ReadOnlySequence<byte> buffer, int maxHeadBytes, bool skipEmptyLines, bool request,
        out long skip, out long length, bool trailers = false)
    {
        skip = 0;
        length = 0;
        long lineStart = 0;
        long position = 0;
        byte previous = 0;
        var scanned = buffer.Length > maxHeadBytes ? buffer.Slice(0, maxHeadBytes) : buffer;
        foreach (var memory in scanned)
        {
            var span = memory.Span;
            int offset = 0;
            while (offset < span.Length)
            {
                int found = span[offset..].IndexOf((byte)'\n');
                if (found < 0)
                {
                    break;
                }
                int at = offset + found;
                long lf = position + at;
                byte before = at > 0 ? span[at - 1] : previous;
                if (lf == 0 || before != (byte)'\r')
                {
                    Fail(request, "a line ends in a bare LF");
                }
                if (lf - 1 == lineStart)
                {
                    if (skipEmptyLines && lineStart == skip)
                    {
                        skip = lf + 1;
                    }
                    else
                    {
                        length = lf + 1 - skip;
                        return true;
                    }
                }
                else
                {
                    skipEmptyLines = false;
                }
                lineStart = lf + 1;
                offset = at + 1;
            }
            if (span.Length > 0)
            {
                previous = span[^1];
            }
            position += span.Length;
        }
        if (buffer.Length >= maxHeadBytes)
        {
            ProtocolViolationException.Throw(
                $"the {(request ? "request" : "response")} {(trailers ? "trailer section" : "head")} is larger than the limit", request ? 431 : 502);
        }
        return false;
    }

    private static Http1RequestHead ParseRequest<THandler>(ReadOnlySpan<byte> head, ref THandler handler, Http1Limits limits)
        where THandler : struct, IHttp1HeadHandler
    {
        int lineEnd = head.IndexOf("\r\n"u8);
        var line = head[..lineEnd];

        int space = line.IndexOf((byte)' ');
        if (space <= 0)
        {
            Fail(true, "the request line has no method");
        }
        var methodText = line[..space];
        if (methodText.ContainsAnyExcept(s_tokenChars))
        {
            Fail(true, "the method is not a token");
        }
        var rest = line[(space + 1)..];
        space = rest.IndexOf((byte)' ');
        if (space <= 0)
        {
            Fail(true, "the request line has no target");
        }
        var target = rest[..space];
        var version = ParseVersion(rest[(space + 1)..], request: true);
        if (target.ContainsAnyExcept(s_targetChars))
        {
            Fail(true, "the request target has a character that is not allowed");
        }

        var method = MethodOf(methodText);
        Http1TargetForm form;
        if (target[0] == (byte)'/')
        {
            form = Http1TargetForm.Origin;
        }
        else if (target.Length == 1 && target[0] == (byte)'*')
        {
            if (method != Http1Method.Options)
            {
                Fail(true, "the asterisk target is only for OPTIONS");
            }
            form = Http1TargetForm.Asterisk;
        }
        else if (StartsWithIgnoreCase(target, "http://"u8) || StartsWithIgnoreCase(target, "https://"u8))
        {
            form = Http1TargetForm.Absolute;
        }
        else
        {
            form = Http1TargetForm.Origin;
            ProtocolViolationException.Throw(method == Http1Method.Connect ? "CONNECT is not supported" : "the request target is not a path",
                method == Http1Method.Connect ? 501 : 400);
        }
        if (method == Http1Method.Connect)
        {
            ProtocolViolationException.Throw("CONNECT is not supported", 501);
        }
        handler.OnRequestLine(method, methodText, target, version);

        var fields = ParseFields(head[(lineEnd + 2)..], ref handler, limits, request: true);

        // RFC 9112 §6.1-§6.3 and §3.2: framing and Host, decided once from all fields.
        Http1BodyKind body = Http1BodyKind.None;
        long contentLength = 0;
        if (fields.TransferEncodings > 0)
        {
            if (fields.ContentLength >= 0)
            {
                Fail(true, "Content-Length and Transfer-Encoding together");
            }
            if (version == Http1Version.Http10)
            {
                Fail(true, "Transfer-Encoding in an HTTP/1.0 request");
            }
            if (fields.TransferEncodings != 1 || !fields.Chunked)
            {
                ProtocolViolationException.Throw("only Transfer-Encoding: chunked is supported", 501);
            }
            body = Http1BodyKind.Chunked;
        }
        else if (fields.ContentLength >= 0)
        {
            body = Http1BodyKind.ContentLength;
            contentLength = fields.ContentLength;
        }
        if (fields.Hosts > 1 || fields.Hosts == 0 && version == Http1Version.Http11)
        {
            Fail(true, fields.Hosts == 0 ? "the request has no Host" : "the request has more than one Host");
        }
        bool keepAlive = version == Http1Version.Http11 ? !fields.ConnectionClose : fields.ConnectionKeepAlive && !fields.ConnectionClose;
        bool upgrade = fields.ConnectionUpgrade && fields.Upgrade;
        return new Http1RequestHead(method, version, form, body, contentLength, keepAlive, upgrade, fields.ExpectContinue, head.Length);
    }

    private static Http1ResponseHead ParseResponse<THandler>(ReadOnlySpan<byte> head, ref THandler handler, Http1Limits limits, Http1Method requestMethod)
        where THandler : struct, IHttp1HeadHandler
    {
        int lineEnd = head.IndexOf("\r\n"u8);
        var line = head[..lineEnd];
        if (line.Length < 12 || line[8] != (byte)' ')
        {
            Fail(false, "the status line is malformed");
        }
        var version = ParseVersion(line[..8], request: false);
        if (!Utf8Parser.TryParse(line.Slice(9, 3), out int status, out int consumed) || consumed != 3 || status is < 100 or > 599
            || !char.IsAsciiDigit((char)line[9]))
        {
            Fail(false, "the status code is not three digits from 100 to 599");
        }
        ReadOnlySpan<byte> reason = default;
        if (line.Length > 12)
        {
            // RFC 9112 §4 requires the SP even without a reason; its absence is tolerated (it cannot change framing).
            if (line[12] != (byte)' ')
            {
                Fail(false, "the status code is not followed by a space");
            }
            reason = line[13..];
            if (reason.ContainsAnyExcept(s_valueChars))
            {
                Fail(false, "the reason phrase has a control character");
            }
        }
        handler.OnStatusLine(version, status, reason);

        var fields = ParseFields(head[(lineEnd + 2)..], ref handler, limits, request: false);
        if (fields.TransferEncodings > 0 && (fields.ContentLength >= 0 || version == Http1Version.Http10 || fields.TransferEncodings != 1 || !fields.Chunked))
        {
            Fail(false, "the response's Transfer-Encoding is not exactly chunked, or comes with Content-Length or HTTP/1.0");
        }

        // RFC 9112 §6.3: the order of these rules is the standard's.
        Http1BodyKind body;
        long contentLength = 0;
        bool keepAlive = version == Http1Version.Http11 ? !fields.ConnectionClose : fields.ConnectionKeepAlive && !fields.ConnectionClose;
        if (status < 200 || status is 204 or 304 || requestMethod == Http1Method.Head)
        {
            if (fields.TransferEncodings > 0 && status is < 200 or 204)
            {
                Fail(false, "Transfer-Encoding on a response that has no body");
            }
            body = Http1BodyKind.None;
        }
        else if (fields.TransferEncodings > 0)
        {
            body = Http1BodyKind.Chunked;
        }
        else if (fields.ContentLength >= 0)
        {
            body = Http1BodyKind.ContentLength;
            contentLength = fields.ContentLength;
        }
        else
        {
            body = Http1BodyKind.CloseDelimited;
            keepAlive = false;
        }
        return new Http1ResponseHead(version, status, body, contentLength, keepAlive, head.Length);
    }

    private static Http1Version ParseVersion(ReadOnlySpan<byte> text, bool request)
    {
        if (text.SequenceEqual("HTTP/1.1"u8))
        {
            return Http1Version.Http11;
        }
        if (text.SequenceEqual("HTTP/1.0"u8))
        {
            return Http1Version.Http10;
        }
        if (request && text.Length == 8 && text.StartsWith("HTTP/"u8) && char.IsAsciiDigit((char)text[5]) && text[6] == (byte)'.'
            && char.IsAsciiDigit((char)text[7]))
        {
            ProtocolViolationException.Throw("only HTTP/1.0 and HTTP/1.1 are supported", 505);
        }
        Fail(request, "the protocol version is malformed");
        return default;
    }

    /// <summary>What the framing-relevant fields said; the rest only went to the handler.</summary>
    private ref struct FieldFacts
    {
        public long ContentLength;
        public int TransferEncodings;
        public bool Chunked;
        public int Hosts;
        public bool ConnectionClose;
        public bool ConnectionKeepAlive;
        public bool ConnectionUpgrade;
        public bool Upgrade;
        public bool ExpectContinue;
    }

    private static FieldFacts ParseFields<THandler>(ReadOnlySpan<byte> fields, ref THandler handler, Http1Limits limits, bool request)
        where THandler : struct, IHttp1HeadHandler
    {
        var facts = new FieldFacts { ContentLength = -1 };
        int count = 0;
        while (true)
        {
            int end = fields.IndexOf("\r\n"u8);
            if (end == 0)
            {
                return facts;
            }
            if (++count > limits.MaxHeaderCount)
            {
                ProtocolViolationException.Throw("too many header fields", request ? 431 : 502);
            }
            var line = fields[..end];
            fields = fields[(end + 2)..];
            ParseFieldLine(line, request, out var name, out var value);
            Note(ref facts, name, value, request);
            handler.OnHeader(name, value, line);
        }
    }

    /// <summary>Splits and checks one field line (also used for chunked trailers).</summary>
    internal static void ParseFieldLine(ReadOnlySpan<byte> line, bool request, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        if (line[0] is (byte)' ' or (byte)'\t')
        {
            Fail(request, "obs-fold (a field line starting with whitespace) is not accepted");
        }
        int colon = line.IndexOf((byte)':');
        if (colon <= 0)
        {
            Fail(request, "a field line has no name and colon");
        }
        name = line[..colon];
        if (name.ContainsAnyExcept(s_tokenChars))
        {
            Fail(request, "a field name is not a token (whitespace before the colon?)");
        }
        value = line[(colon + 1)..].Trim(" \t"u8);
        if (value.ContainsAnyExcept(request ? s_asciiValueChars : s_valueChars))
        {
            Fail(request, "a field value has a control or non-ASCII character");
        }
    }

    private static void Note(ref FieldFacts facts, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool request)
    {
        switch (name.Length)
        {
            case 4 when Ascii.EqualsIgnoreCase(name, "host"u8):
                facts.Hosts++;
                if (request && (value.IsEmpty || value.ContainsAny((byte)' ', (byte)'\t', (byte)'@')))
                {
                    Fail(true, "the Host value is not a host and port");
                }
                break;
            case 6 when Ascii.EqualsIgnoreCase(name, "expect"u8):
                if (request)
                {
                    if (!Ascii.EqualsIgnoreCase(value, "100-continue"u8))
                    {
                        ProtocolViolationException.Throw("only Expect: 100-continue is supported", 417);
                    }
                    facts.ExpectContinue = true;
                }
                break;
            case 7 when Ascii.EqualsIgnoreCase(name, "upgrade"u8):
                facts.Upgrade = true;
                break;
            case 10 when Ascii.EqualsIgnoreCase(name, "connection"u8):
                foreach (var range in value.Split((byte)','))
                {
                    var token = value[range].Trim(" \t"u8);
                    facts.ConnectionClose |= Ascii.EqualsIgnoreCase(token, "close"u8);
                    facts.ConnectionKeepAlive |= Ascii.EqualsIgnoreCase(token, "keep-alive"u8);
                    facts.ConnectionUpgrade |= Ascii.EqualsIgnoreCase(token, "upgrade"u8);
                }
                break;
            case 14 when Ascii.EqualsIgnoreCase(name, "content-length"u8):
                // Plain digits only (no sign, no list); a repeat must say the same (RFC 9110 §8.6, RFC 9112 §6.3).
                if (value.IsEmpty || value.Length > 18 || value.ContainsAnyExceptInRange((byte)'0', (byte)'9')
                    || !Utf8Parser.TryParse(value, out long length, out _))
                {
                    Fail(request, "Content-Length is not a number");
                    length = 0;
                }
                if (facts.ContentLength >= 0 && facts.ContentLength != length)
                {
                    Fail(request, "Content-Length values differ");
                }
                facts.ContentLength = length;
                break;
            case 17 when Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8):
                facts.TransferEncodings++;
                facts.Chunked = Ascii.EqualsIgnoreCase(value, "chunked"u8);
                break;
        }
    }

    private static Http1Method MethodOf(ReadOnlySpan<byte> text) => text.Length switch
    {
        3 when text.SequenceEqual("GET"u8) => Http1Method.Get,
        3 when text.SequenceEqual("PUT"u8) => Http1Method.Put,
        4 when text.SequenceEqual("POST"u8) => Http1Method.Post,
        4 when text.SequenceEqual("HEAD"u8) => Http1Method.Head,
        5 when text.SequenceEqual("PATCH"u8) => Http1Method.Patch,
        5 when text.SequenceEqual("TRACE"u8) => Http1Method.Trace,
        6 when text.SequenceEqual("DELETE"u8) => Http1Method.Delete,
        7 when text.SequenceEqual("OPTIONS"u8) => Http1Method.Options,
        7 when text.SequenceEqual("CONNECT"u8) => Http1Method.Connect,
        _ => Http1Method.Other,
    };

    private static bool StartsWithIgnoreCase(ReadOnlySpan<byte> text, ReadOnlySpan<byte> prefix) =>
        text.Length > prefix.Length && Ascii.EqualsIgnoreCase(text[..prefix.Length], prefix);

    private static void Fail(bool request, string reason) => ProtocolViolationException.Throw(reason, request ? 400 : 502);

    private static byte[] Range(int first, int last, byte? except = null)
    {
        var bytes = new List<byte>();
        for (int b = first; b <= last; b++)
        {
            if (b != except)
            {
                bytes.Add((byte)b);
            }
        }
        return [.. bytes];
    }
}
