using System.Buffers;
using System.Text;

namespace Wire.Enforcement.Masking;

/// <summary>How a masked JSON field's string value is rewritten (length always kept, the JSON always valid).</summary>
internal enum JsonFieldMask : byte
{
    /// <summary>Every byte between the quotes becomes <c>*</c> (escape sequences included).</summary>
    Full,

    /// <summary>Every byte but <c>=</c> padding becomes <c>A</c>: still valid base64 of the same length (Kubernetes Secret data).</summary>
    Base64,
}

/// <summary>
/// Masks a JSON text in place as it streams (RFC 8259; one value, or several in a row as in a watch stream): string
/// values of fields named by patterns are overwritten (numbers become 9s, so they stay numbers), and every other
/// string value is unescaped and run through the content detectors. Lengths never change.
/// </summary>
/// <remarks>
/// Call <see cref="Process"/> with the bytes not yet final followed by new bytes; it masks what it can and returns how
/// many leading bytes are final. The rest (a property name, number or literal cut by the buffer, or a string the
/// detectors must see whole) is presented again, with more bytes after it. A string longer than
/// <see cref="MaxHeldBytes"/> that the detectors would have to see whole is masked whole instead (fail closed).
/// Malformed JSON throws <see cref="ProtocolViolationException"/>.
/// </remarks>
internal sealed class JsonStreamMasker
{
    /// <summary>The longest string value held back for the detectors, and the longest property name.</summary>
    public const int MaxHeldBytes = 1 << 20;

    private const int MaxDepth = 256;

    private readonly IReadOnlyList<(JsonFieldPattern Pattern, JsonFieldMask Mask)> _fields;
    private readonly ContentScanner? _scanner;
    private readonly List<Frame> _stack = [];
    private readonly List<string?> _path = [];
    private Expect _expect = Expect.Value;
    private bool _topLevelSeen;

    // A string value being streamed: masked (or passed) byte by byte.
    private bool _inString;
    private JsonFieldMask? _stringMask;
    private int _escape; // 0: none; 1: after '\'; 2-5: hex digits of \uXXXX still to come

    /// <summary>Creates a masker.</summary>
    /// <param name="fields">Field patterns and how their values are masked.</param>
    /// <param name="scanner">The content detectors for all other string values; null for none.</param>
    public JsonStreamMasker(IReadOnlyList<(JsonFieldPattern Pattern, JsonFieldMask Mask)> fields, ContentScanner? scanner)
    {
        _fields = fields ?? throw new ArgumentNullException(nameof(fields));
        _scanner = scanner;
    }

    /// <summary>String and number values masked so far (fields and detector hits).</summary>
    public long MaskedValues { get; private set; }

    /// <summary>Whether the stream is between top-level values: all input so far is complete JSON.</summary>
    public bool IsAtValueBoundary => _expect == Expect.Value && _stack.Count == 0 && !_inString;

    private enum Expect : byte
    {
        Value,
        ValueOrEnd,
        NameOrEnd,
        Name,
        Colon,
        CommaOrEnd,
    }

    private struct Frame
    {
        public bool IsObject;
        public JsonFieldMask? MaskAll;
    }

    /// <summary>Masks <paramref name="buffer"/> in place as far as it can.</summary>
    /// <param name="buffer">The bytes not yet final from the previous call, then new bytes.</param>
    /// <param name="isFinal">No more bytes follow: nothing may be held back.</param>
    /// <returns>How many leading bytes are final (may be forwarded and not presented again).</returns>
    /// <exception cref="ProtocolViolationException">The text is not JSON, or ends inside a value when final.</exception>
    public int Process(Span<byte> buffer, bool isFinal)
    {
        int i = 0;
        while (i < buffer.Length)
        {
            if (_inString)
            {
                i = ContinueString(buffer, i);
                continue;
            }
            byte b = buffer[i];
            if (b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
            {
                i++;
                continue;
            }
            switch (_expect)
            {
                case Expect.Colon:
                    Require(b == (byte)':', "a ':' after a member name");
                    _expect = Expect.Value;
                    i++;
                    continue;

                case Expect.CommaOrEnd:
                    if (b == (byte)',')
                    {
                        _expect = _stack[^1].IsObject ? Expect.Name : Expect.Value;
                        if (!_stack[^1].IsObject)
                        {
                            _path[^1] = null;
                        }
                        i++;
                        continue;
                    }
                    Require(b == (_stack[^1].IsObject ? (byte)'}' : (byte)']'), "a ',' or the end of the object or array");
                    Close();
                    i++;
                    continue;

                case Expect.NameOrEnd or Expect.Name:
                    if (b == (byte)'}' && _expect == Expect.NameOrEnd)
                    {
                        Close();
                        i++;
                        continue;
                    }
                    Require(b == (byte)'"', "a member name");
                    int nameEnd = FindStringEnd(buffer, i + 1);
                    if (nameEnd < 0)
                    {
                        return Hold(buffer, i, isFinal, "a member name");
                    }
                    _path[^1] = Unescape(buffer[(i + 1)..nameEnd]);
                    _expect = Expect.Colon;
                    i = nameEnd + 1;
                    continue;

                case Expect.ValueOrEnd when b == (byte)']':
                    Close();
                    i++;
                    continue;

                default:
                    int next = Value(buffer, i, isFinal);
                    if (next < 0)
                    {
                        return Hold(buffer, i, isFinal, "a value");
                    }
                    i = next;
                    continue;
            }
        }
        if (isFinal && !IsAtValueBoundary)
        {
            ProtocolViolationException.Throw("the JSON text ends inside a value");
        }
        return buffer.Length;
    }

    private static int Hold(Span<byte> buffer, int start, bool isFinal, string what)
    {
        if (isFinal)
        {
            ProtocolViolationException.Throw($"the JSON text ends inside {what}");
        }
        if (buffer.Length - start > MaxHeldBytes)
        {
            ProtocolViolationException.Throw($"{what} in the JSON text is longer than {MaxHeldBytes} bytes");
        }
        return start;
    }

    /// <summary>One value at <paramref name="i"/>; returns the index after what was consumed, or -1 to hold back from <paramref name="i"/>.</summary>
    private int Value(Span<byte> buffer, int i, bool isFinal)
    {
        if (_stack.Count == 0 && _topLevelSeen && _expect != Expect.Value)
        {
            ProtocolViolationException.Throw("unexpected text after a JSON value");
        }
        var mask = CurrentMask();
        byte b = buffer[i];
        switch (b)
        {
            case (byte)'{' or (byte)'[':
                if (_stack.Count >= MaxDepth)
                {
                    ProtocolViolationException.Throw("the JSON text nests too deeply");
                }
                bool isObject = b == (byte)'{';
                _stack.Add(new Frame { IsObject = isObject, MaskAll = mask });
                _path.Add(null);
                _expect = isObject ? Expect.NameOrEnd : Expect.ValueOrEnd;
                return i + 1;

            case (byte)'"':
                if (mask is { } fieldMask)
                {
                    MaskedValues++;
                    _inString = true;
                    _stringMask = fieldMask;
                    return i + 1;
                }
                if (_scanner is null)
                {
                    _inString = true;
                    _stringMask = null;
                    return i + 1;
                }
                int end = FindStringEnd(buffer, i + 1);
                if (end < 0)
                {
                    if (!isFinal && buffer.Length - i > MaxHeldBytes)
                    {
                        // Too long to hold for the detectors: masked whole instead (fail closed).
                        MaskedValues++;
                        _inString = true;
                        _stringMask = JsonFieldMask.Full;
                        return i + 1;
                    }
                    return -1;
                }
                Scan(buffer[(i + 1)..end]);
                AfterValue();
                return end + 1;

            case (byte)'-' or (>= (byte)'0' and <= (byte)'9'):
                int n = i + 1;
                while (n < buffer.Length && buffer[n] is (byte)'+' or (byte)'-' or (byte)'.' or (byte)'e' or (byte)'E' or (>= (byte)'0' and <= (byte)'9'))
                {
                    n++;
                }
                if (n == buffer.Length && !isFinal)
                {
                    return -1;
                }
                ValidateNumber(buffer[i..n]);
                if (mask is not null)
                {
                    MaskedValues++;
                    foreach (ref byte c in buffer[i..n])
                    {
                        if (c is >= (byte)'0' and <= (byte)'9')
                        {
                            c = (byte)'9';
                        }
                    }
                }
                AfterValue();
                return n;

            case (byte)'t' or (byte)'f' or (byte)'n':
                ReadOnlySpan<byte> literal = b == (byte)'t' ? "true"u8 : b == (byte)'f' ? "false"u8 : "null"u8;
                if (buffer.Length - i < literal.Length)
                {
                    Require(literal.StartsWith(buffer[i..]), "true, false or null");
                    return -1;
                }
                Require(buffer.Slice(i, literal.Length).SequenceEqual(literal), "true, false or null");
                AfterValue();
                return i + literal.Length;

            default:
                ProtocolViolationException.Throw("a JSON value");
                return 0;
        }
    }

    private int ContinueString(Span<byte> buffer, int i)
    {
        while (i < buffer.Length)
        {
            byte b = buffer[i];
            if (_escape == 1)
            {
                Require(b is (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t' or (byte)'u',
                    "a valid escape");
                _escape = b == (byte)'u' ? 5 : 0;
            }
            else if (_escape > 1)
            {
                Require(char.IsAsciiHexDigit((char)b), "four hex digits after \\u");
                _escape = _escape == 2 ? 0 : _escape - 1;
            }
            else if (b == (byte)'\\')
            {
                _escape = 1;
            }
            else if (b == (byte)'"')
            {
                _inString = false;
                AfterValue();
                return i + 1;
            }
            else
            {
                Require(b >= 0x20, "no control characters in a string");
            }
            if (_stringMask is { } mask)
            {
                buffer[i] = mask == JsonFieldMask.Full ? (byte)'*' : b == (byte)'=' ? b : (byte)'A';
            }
            i++;
        }
        return i;
    }

    /// <summary>The index of the closing quote of a string starting after its opening quote at <paramref name="start"/>, or -1.</summary>
    private static int FindStringEnd(ReadOnlySpan<byte> buffer, int start)
    {
        int i = start;
        while (i < buffer.Length)
        {
            int special = buffer[i..].IndexOfAny((byte)'"', (byte)'\\');
            if (special < 0)
            {
                return -1;
            }
            i += special;
            if (buffer[i] == (byte)'"')
            {
                return i;
            }
            i += 2; // a backslash and the byte it escapes
        }
        return -1;
    }

    /// <summary>Runs the detectors over one string value's content (unescaped when it has escapes) and masks the raw bytes of each hit.</summary>
    private void Scan(Span<byte> raw)
    {
        ValidateString(raw);
        if (raw.IndexOf((byte)'\\') < 0)
        {
            // No escapes: the raw bytes are the text; masking writes only letters, digits and '*', never a quote or a backslash.
            MaskedValues += _scanner!.MaskInPlace(raw);
            return;
        }
        byte[] decoded = ArrayPool<byte>.Shared.Rent(raw.Length);
        int[] origin = ArrayPool<int>.Shared.Rent(raw.Length + 1);
        try
        {
            int length = Decode(raw, decoded, origin);
            Span<DetectorHit> hits = stackalloc DetectorHit[32];
            int count = _scanner!.FindHits(decoded.AsSpan(0, length), hits);
            if (count > hits.Length)
            {
                raw.Fill((byte)'*'); // more hits than reported: mask the value whole
                MaskedValues++;
                return;
            }
            foreach (var hit in hits[..count])
            {
                int from = origin[hit.Start];
                int to = origin[hit.End];
                raw[from..to].Fill((byte)'*');
            }
            MaskedValues += count;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(decoded);
            ArrayPool<int>.Shared.Return(origin);
        }
    }

    /// <summary>Unescapes a string's content into UTF-8; <paramref name="origin"/>[k] is the raw offset decoded byte k came from.</summary>
    private static int Decode(ReadOnlySpan<byte> raw, Span<byte> decoded, Span<int> origin)
    {
        int o = 0;
        int i = 0;
        Span<byte> utf8 = stackalloc byte[4];
        while (i < raw.Length)
        {
            if (raw[i] != (byte)'\\')
            {
                origin[o] = i;
                decoded[o++] = raw[i++];
                continue;
            }
            int start = i;
            byte e = raw[i + 1];
            int written;
            if (e == (byte)'u')
            {
                int code = Convert.ToInt32(Encoding.ASCII.GetString(raw.Slice(i + 2, 4)), 16);
                i += 6;
                if (char.IsHighSurrogate((char)code) && i + 6 <= raw.Length && raw[i] == (byte)'\\' && raw[i + 1] == (byte)'u')
                {
                    int low = Convert.ToInt32(Encoding.ASCII.GetString(raw.Slice(i + 2, 4)), 16);
                    if (char.IsLowSurrogate((char)low))
                    {
                        code = char.ConvertToUtf32((char)code, (char)low);
                        i += 6;
                    }
                }
                written = Rune.TryCreate(code, out var rune) ? rune.EncodeToUtf8(utf8) : Rune.ReplacementChar.EncodeToUtf8(utf8);
            }
            else
            {
                utf8[0] = e switch { (byte)'b' => 8, (byte)'f' => 12, (byte)'n' => 10, (byte)'r' => 13, (byte)'t' => 9, _ => e };
                written = 1;
                i += 2;
            }
            for (int k = 0; k < written; k++)
            {
                origin[o] = start;
                decoded[o++] = utf8[k];
            }
        }
        origin[o] = raw.Length;
        return o;
    }

    private static void ValidateString(ReadOnlySpan<byte> raw)
    {
        for (int i = 0; i < raw.Length; i++)
        {
            byte b = raw[i];
            if (b < 0x20)
            {
                ProtocolViolationException.Throw("no control characters in a string");
            }
            if (b != (byte)'\\')
            {
                continue;
            }
            Require(i + 1 < raw.Length, "a valid escape");
            byte e = raw[i + 1];
            if (e == (byte)'u')
            {
                Require(i + 5 < raw.Length && char.IsAsciiHexDigit((char)raw[i + 2]) && char.IsAsciiHexDigit((char)raw[i + 3])
                    && char.IsAsciiHexDigit((char)raw[i + 4]) && char.IsAsciiHexDigit((char)raw[i + 5]), "four hex digits after \\u");
                i += 5;
            }
            else
            {
                Require(e is (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t', "a valid escape");
                i++;
            }
        }
    }

    private static void ValidateNumber(ReadOnlySpan<byte> number)
    {
        // number = [ "-" ] int [ frac ] [ exp ]; int = "0" / ( digit1-9 *DIGIT )
        int i = 0;
        if (number[i] == (byte)'-')
        {
            i++;
        }
        int digits = Digits(number, ref i);
        Require(digits > 0 && (digits == 1 || number[i - digits] != (byte)'0'), "a JSON number");
        if (i < number.Length && number[i] == (byte)'.')
        {
            i++;
            Require(Digits(number, ref i) > 0, "a JSON number");
        }
        if (i < number.Length && number[i] is (byte)'e' or (byte)'E')
        {
            i++;
            if (i < number.Length && number[i] is (byte)'+' or (byte)'-')
            {
                i++;
            }
            Require(Digits(number, ref i) > 0, "a JSON number");
        }
        Require(i == number.Length, "a JSON number");

        static int Digits(ReadOnlySpan<byte> text, ref int i)
        {
            int start = i;
            while (i < text.Length && text[i] is >= (byte)'0' and <= (byte)'9')
            {
                i++;
            }
            return i - start;
        }
    }

    private JsonFieldMask? CurrentMask()
    {
        if (_stack.Count > 0 && _stack[^1].MaskAll is { } inherited)
        {
            return inherited;
        }
        if (_stack.Count == 0 || _fields.Count == 0)
        {
            return null;
        }
        var path = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_path);
        foreach (var (pattern, mask) in _fields)
        {
            if (pattern.Matches(path))
            {
                return mask;
            }
        }
        return null;
    }

    private void AfterValue()
    {
        if (_stack.Count == 0)
        {
            _topLevelSeen = true;
            _expect = Expect.Value;
            return;
        }
        _expect = Expect.CommaOrEnd;
    }

    private void Close()
    {
        _stack.RemoveAt(_stack.Count - 1);
        _path.RemoveAt(_path.Count - 1);
        AfterValue();
    }

    private static string Unescape(ReadOnlySpan<byte> raw)
    {
        ValidateString(raw);
        if (raw.IndexOf((byte)'\\') < 0)
        {
            return Encoding.UTF8.GetString(raw);
        }
        byte[] decoded = ArrayPool<byte>.Shared.Rent(raw.Length);
        int[] origin = ArrayPool<int>.Shared.Rent(raw.Length + 1);
        try
        {
            int length = Decode(raw, decoded, origin);
            return Encoding.UTF8.GetString(decoded, 0, length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(decoded);
            ArrayPool<int>.Shared.Return(origin);
        }
    }

    private static void Require(bool condition, string expected)
    {
        if (!condition)
        {
            ProtocolViolationException.Throw("malformed JSON: expected " + expected);
        }
    }
}
