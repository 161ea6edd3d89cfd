using System.Buffers;
using System.Globalization;
using Wire.Enforcement;

namespace Wire.Http.Protocol;

/// <summary>
/// Walks one message body as it streams (RFC 9112 §6-§7), resumable across reads, never buffering it whole. Each
/// <see cref="TryRead"/> hands out the next part: payload bytes (as many as are buffered, up to the end of the chunk
/// or body) or one whole piece of chunked framing (a chunk-size line, the CRLF after chunk data, or the last chunk with
/// its trailer section). A forwarder copies the parts as they are; a masker rewrites only the payload parts.
/// </summary>
/// <remarks>
/// <code>
///   chunked-body = *chunk last-chunk trailer-section CRLF
///   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
///   last-chunk   = 1*("0") [ chunk-ext ] CRLF
/// </code>
/// </remarks>
internal struct Http1BodyReader
{
    private const int MaxChunkSizeDigits = 16;

    private Mode _mode;
    private long _remaining;
    private readonly int _maxChunkLine;
    private readonly int _maxTrailerBytes;
    private readonly int _maxTrailerCount;
    private readonly bool _request;

    private Http1BodyReader(Mode mode, long remaining, Http1Limits limits, bool request)
    {
        _mode = mode;
        _remaining = remaining;
        _maxChunkLine = limits.MaxChunkLineBytes;
        _maxTrailerBytes = limits.MaxHeadBytes;
        _maxTrailerCount = limits.MaxHeaderCount;
        _request = request;
    }

    private enum Mode : byte
    {
        Done,
        Fixed,
        ChunkSize,
        ChunkData,
        ChunkDataEnd,
        Trailers,
        UntilClose,
    }

    /// <summary>A reader for a body delimited as <paramref name="kind"/> says.</summary>
    /// <param name="kind">How the body is delimited.</param>
    /// <param name="contentLength">The length, for <see cref="Http1BodyKind.ContentLength"/>.</param>
    /// <param name="limits">The chunk-line and trailer limits.</param>
    /// <param name="request">Whether this is a request body (violations answer 400) or a response body (502).</param>
    public static Http1BodyReader Create(Http1BodyKind kind, long contentLength, Http1Limits limits, bool request) => kind switch
    {
        Http1BodyKind.ContentLength when contentLength > 0 => new(Mode.Fixed, contentLength, limits, request),
        Http1BodyKind.Chunked => new(Mode.ChunkSize, 0, limits, request),
        Http1BodyKind.CloseDelimited => new(Mode.UntilClose, 0, limits, request),
        _ => new(Mode.Done, 0, limits, request),
    };

    /// <summary>Whether the whole body has been read (never for a close-delimited body: it ends with the connection).</summary>
    public readonly bool IsComplete => _mode == Mode.Done;

    /// <summary>Whether the last chunk has been read and its trailer section is next (or being read).</summary>
    public readonly bool InTrailers => _mode == Mode.Trailers;

    /// <summary>Whether the body ends when the connection closes (a response without Content-Length or chunked).</summary>
    public readonly bool EndsAtClose => _mode == Mode.UntilClose;

    /// <summary>Payload bytes still expected in the current chunk or fixed-length body (0 between chunks).</summary>
    public readonly long Remaining => _remaining;

    /// <summary>Reads the next part of the body.</summary>
    /// <param name="reader">The input, advanced past the part.</param>
    /// <param name="part">The part's bytes (a slice of the reader's sequence).</param>
    /// <param name="isPayload">Whether the part is payload (true) or chunked framing (false).</param>
    /// <returns>False when nothing more can be read until more input arrives (or the body is complete).</returns>
    /// <exception cref="ProtocolViolationException">The chunked framing is malformed or over a limit.</exception>
    public bool TryRead(ref SequenceReader<byte> reader, out ReadOnlySequence<byte> part, out bool isPayload)
    {
        part = default;
        isPayload = false;
        switch (_mode)
        {
            case Mode.Fixed or Mode.ChunkData:
                if (reader.End)
                {
                    return false;
                }
                long take = Math.Min(_remaining, reader.Remaining);
                part = reader.UnreadSequence.Slice(0, take);
                reader.Advance(take);
                _remaining -= take;
                isPayload = true;
                if (_remaining == 0)
                {
                    _mode = _mode == Mode.Fixed ? Mode.Done : Mode.ChunkDataEnd;
                }
                return true;

            case Mode.UntilClose:
                if (reader.End)
                {
                    return false;
                }
                part = reader.UnreadSequence;
                reader.AdvanceToEnd();
                isPayload = true;
                return true;

            case Mode.ChunkDataEnd:
                if (reader.Remaining < 2)
                {
                    return false;
                }
                part = reader.UnreadSequence.Slice(0, 2);
                if (!reader.IsNext("\r\n"u8, advancePast: true))
                {
                    Fail("chunk data is not followed by CRLF");
                }
                _mode = Mode.ChunkSize;
                return true;

            case Mode.ChunkSize:
                return TryReadChunkLine(ref reader, out part);

            case Mode.Trailers:
                return TryReadTrailers(ref reader, out part);

            default:
                return false;
        }
    }

    private bool TryReadChunkLine(ref SequenceReader<byte> reader, out ReadOnlySequence<byte> part)
    {
        part = default;
        var buffer = reader.UnreadSequence;
        var window = buffer.Length > _maxChunkLine ? buffer.Slice(0, _maxChunkLine) : buffer;
        var lf = window.PositionOf((byte)'\n');
        if (lf is null)
        {
            if (buffer.Length >= _maxChunkLine)
            {
                Fail("a chunk-size line is longer than the limit");
            }
            return false;
        }
        long lineLength = buffer.Slice(0, lf.Value).Length;
        long size;
        if (buffer.First.Length > lineLength)
        {
            size = ParseChunkLine(buffer.FirstSpan[..(int)lineLength]);
        }
        else
        {
            // The line straddles segments: one copy, on the stack when it is short (it nearly always is).
            byte[]? rented = lineLength > 256 ? ArrayPool<byte>.Shared.Rent((int)lineLength) : null;
            try
            {
                Span<byte> copy = rented is null ? stackalloc byte[256] : rented;
                buffer.Slice(0, lineLength).CopyTo(copy);
                size = ParseChunkLine(copy[..(int)lineLength]);
            }
            finally
            {
                if (rented is not null)
                {
                    ArrayPool<byte>.Shared.Return(rented);
                }
            }
        }
        part = buffer.Slice(0, lineLength + 1);
        reader.Advance(lineLength + 1);
        if (size == 0)
        {
            _mode = Mode.Trailers;
        }
        else
        {
            _remaining = size;
            _mode = Mode.ChunkData;
        }
        return true;
    }

    // The line without its LF: 1*HEXDIG [ chunk-ext ] CR.
    private long ParseChunkLine(ReadOnlySpan<byte> line)
    {
        if (line.IsEmpty || line[^1] != (byte)'\r')
        {
            Fail("a chunk-size line ends in a bare LF");
        }
        line = line[..^1];
        int digits = line.IndexOfAnyExcept("0123456789abcdefABCDEF"u8);
        if (digits < 0)
        {
            digits = line.Length;
        }
        if (digits == 0)
        {
            Fail("a chunk size is not hexadecimal");
        }
        var hex = line[..digits].TrimStart((byte)'0');
        if (hex.Length > MaxChunkSizeDigits || hex.Length == MaxChunkSizeDigits && hex[0] > (byte)'7')
        {
            Fail("a chunk size is too large");
        }
        long size = hex.IsEmpty ? 0 : long.Parse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);

        // chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ): checked for what smuggling needs (no control
        // characters, no bare CR), not parsed: Wire forwards extensions as they are and acts on none.
        var extensions = line[digits..];
        if (!extensions.IsEmpty)
        {
            var trimmed = extensions.TrimStart(" \t"u8);
            if (trimmed.IsEmpty || trimmed[0] != (byte)';' || extensions.ContainsAnyExcept(s_extensionChars))
            {
                Fail("a chunk extension is malformed");
            }
        }
        return size;
    }

    private static readonly SearchValues<byte> s_extensionChars = SearchValues.Create(ExtensionChars());

    private static byte[] ExtensionChars()
    {
        var bytes = new List<byte> { (byte)'\t' };
        for (int b = 0x20; b <= 0x7E; b++)
        {
            bytes.Add((byte)b);
        }
        return [.. bytes];
    }

    private bool TryReadTrailers(ref SequenceReader<byte> reader, out ReadOnlySequence<byte> part)
    {
        part = default;
        var buffer = reader.UnreadSequence;
        if (buffer.Length < 2)
        {
            return false;
        }
        if (reader.IsNext("\r\n"u8))
        {
            // No trailer fields: the common case.
            part = buffer.Slice(0, 2);
            reader.Advance(2);
            _mode = Mode.Done;
            return true;
        }

        // trailer-section = *( field-line CRLF ) CRLF: found like a head (no bare LF), checked like header fields.
        if (!Http1Parser.TryFindHeadEnd(buffer, _maxTrailerBytes, skipEmptyLines: false, _request, out _, out long length, trailers: true))
        {
            return false;
        }
        var section = buffer.Slice(0, length);
        byte[] rented = ArrayPool<byte>.Shared.Rent((int)length);
        try
        {
            section.CopyTo(rented);
            var fields = rented.AsSpan(0, (int)length - 2);
            for (int count = 1; !fields.IsEmpty; count++)
            {
                if (count > _maxTrailerCount)
                {
                    Fail("too many trailer fields");
                }
                int end = fields.IndexOf("\r\n"u8);
                Http1Parser.ParseFieldLine(fields[..end], _request, out _, out _);
                fields = fields[(end + 2)..];
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
        part = section;
        reader.Advance(length);
        _mode = Mode.Done;
        return true;
    }

    private readonly void Fail(string reason) => ProtocolViolationException.Throw(reason, _request ? 400 : 502);
}
