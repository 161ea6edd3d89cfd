using System.Buffers;

namespace Wire.Enforcement.Masking;

/// <summary>
/// Masks text that arrives in pieces of any size (terminal and command output: SSH <c>CHANNEL_DATA</c> of
/// 1 byte to 32 KiB) with a <see cref="ContentScanner"/>, keeping the length in bytes. A value cut by a
/// piece boundary is still found: the last bytes of each window are held back and scanned again with the
/// next piece. A secret longer than the hold-back (a PEM private key, a long JWT) is masked from the
/// moment its prefix is recognised through its end, across as many later pieces as it takes.
/// </summary>
/// <remarks>
/// <para>
/// Each call that can release something scans the window made of the bytes held back, the new piece and,
/// before them, 128 bytes already released (left context, never released twice: boundaries and
/// look-backs are seen as in the whole text; up to 4 KiB when a match found before crosses the context's
/// start, so the scan meets the same matches as a scan of the whole text would). Every match that reaches
/// into the bytes about to be released is masked whole, with the scanner's style, including its part in
/// the held tail. All but the last <c>holdBack</c> bytes are released, the boundary moved back to the
/// start of a UTF-8 character: a value of at most <c>holdBack</c> bytes is seen whole before any of it
/// goes out, and a match that only ends at the window's edge (where the scanner sees a boundary that is
/// not one) is decided with more text.
/// </para>
/// <para>
/// Continuation, for the detectors the scanner runs: a PEM private-key block (as <c>PemDetector</c>
/// accepts it) whose END line is not yet in the window, a token starting <c>eyJ</c> made of base64url
/// segments and dots, or <c>AKIA</c>/<c>ASIA</c> with fewer than 16 capitals and digits after it, that
/// runs to the end of the window and would otherwise be partly released (or any such prefix at the end
/// when flushing) is masked to the window's end and released; later bytes are masked while they can
/// still belong to it: the PEM body bytes through the matching <c>-----END label-----</c> (line breaks
/// included, as the scanner masks whole blocks), base64url bytes and dots for a JWT, capitals and digits
/// up to 20 characters for a key id. Continuation writes <c>*</c> in every style (the style's own output
/// depends on the whole value, which is not known yet).
/// </para>
/// <para>
/// Not thread-safe: one instance per stream. After warm-up no call allocates: the buffers grow to the
/// largest piece plus the hold-back and context, then are reused.
/// </para>
/// </remarks>
public sealed class StreamMasker
{
    /// <summary>The default number of bytes held back at the end of each window (longer than any value but PEM blocks and long JWTs).</summary>
    public const int DefaultHoldBack = 64;

    /// <summary>Bytes already released kept before the window, raw, for boundaries and look-backs (an email's local part).</summary>
    private const int ContextLength = 128;

    /// <summary>
    /// How far back the context may reach to keep whole a match that crosses its start (so the scan of the
    /// next window meets the same matches, in the same order, as a scan of the whole text).
    /// </summary>
    private const int MaxContextLength = 4096;

    /// <summary>Bytes kept before such a match, for the boundary tests at its start.</summary>
    private const int AnchorMargin = 16;

    private const int InitialCapacity = 1024;
    private const int AwsKeyLength = 20;
    private const int AwsPrefixLength = 4;
    private const byte MaskByte = (byte)'*';

    /// <summary>The longest label <c>PemDetector</c> reads (its loop stops past 64).</summary>
    private const int PemLabelLimit = 65;

    /// <summary>The bytes a PEM body, its headers and its END line may hold: the same set as <c>PemDetector</c>.</summary>
    private static readonly SearchValues<byte> _pemBody = SearchValues.Create(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \t\r\n\\:,-"u8);

    /// <summary>The bytes of a compact JWT: base64url and the dots between segments.</summary>
    private static readonly SearchValues<byte> _jwtBytes = SearchValues.Create(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."u8);

    private static readonly SearchValues<byte> _upperOrDigit = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"u8);

    private readonly ContentScanner _scanner;
    private readonly int _holdBack;
    private readonly bool _pem;
    private readonly bool _jwt;
    private readonly bool _awsKey;

    /// <summary>The window as it arrived: context, released-not-taken, held.</summary>
    private byte[] _raw = [];

    /// <summary>The same positions masked: what is released, and the masks already decided for the held tail.</summary>
    private byte[] _out = [];

    /// <summary>A copy of the window the scanner masks, to take matched ranges from.</summary>
    private byte[] _scratch = [];

    /// <summary>The last scan's ranges, in window offsets (shifted when the window is compacted).</summary>
    private DetectorHit[] _hits = new DetectorHit[32];
    private int _hitCount;

    /// <summary>Bytes in the buffers.</summary>
    private int _length;

    /// <summary>Start of the bytes not released yet.</summary>
    private int _pending;

    /// <summary>Start of the released bytes the caller has not taken yet.</summary>
    private int _taken;

    /// <summary>Ranges ending at or before this offset were counted in <see cref="Masked"/> already.</summary>
    private int _countedUntil;

    private Continuation _continuation;

    /// <summary>Capitals or digits an AWS key id still takes.</summary>
    private int _awsLeft;

    /// <summary><c>-----END label-----</c> of the PEM block being continued, its KMP failure table and how much of it the last bytes matched.</summary>
    private readonly byte[] _pemEnd = new byte[9 + PemLabelLimit + 5];
    private readonly int[] _pemFailure = new int[9 + PemLabelLimit + 5];
    private int _pemEndLength;
    private int _pemMatched;

    /// <summary>Creates a masker for one stream.</summary>
    /// <param name="scanner">The detectors and mask style; continuation applies to its PEM, JWT and AWS key detectors.</param>
    /// <param name="holdBack">
    /// Bytes held back at the end of each window until more text or a flush decides them (up to 3 more so
    /// a UTF-8 character is not cut); values at most this long are always seen whole. Raised to the longest
    /// match the scanner's own detectors of a host declare (<see cref="IContentDetector.MaxLength"/>).
    /// </param>
    /// <exception cref="ArgumentNullException"><paramref name="scanner"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="holdBack"/> is negative.</exception>
    public StreamMasker(ContentScanner scanner, int holdBack = DefaultHoldBack)
    {
        ArgumentNullException.ThrowIfNull(scanner);
        ArgumentOutOfRangeException.ThrowIfNegative(holdBack);
        _scanner = scanner;
        _holdBack = Math.Max(holdBack, scanner.CustomMaxLength);
        _pem = (scanner.Detectors & DetectorKinds.Pem) != 0;
        _jwt = (scanner.Detectors & DetectorKinds.Jwt) != 0;
        _awsKey = (scanner.Detectors & DetectorKinds.AwsKey) != 0;
    }

    private enum Continuation : byte
    {
        None,
        Pem,
        Jwt,
        AwsKey,
    }

    /// <summary>The bytes held back at the end of each window (see the constructor; never less than the host's detectors' longest match).</summary>
    public int HoldBack => _holdBack;

    /// <summary>Bytes appended and not yet taken: those held back and those released but not taken.</summary>
    public int Held => _length - _taken;

    /// <summary>
    /// Values masked so far, for recordings and metrics: each range the scanner found once, and each secret
    /// masked by continuation that the scanner had not already found.
    /// </summary>
    public long Masked { get; private set; }

    /// <summary>True while a long secret is being masked across pieces (its end not seen yet).</summary>
    public bool Continuing => _continuation != Continuation.None;

    /// <summary>
    /// Appends <paramref name="data"/> (copied into an internal buffer that grows as needed, then is reused)
    /// and masks what can be decided; <see cref="TakeReady"/> returns what is final.
    /// </summary>
    /// <param name="data">The next piece of the stream, any length.</param>
    public void Append(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        Compact();
        EnsureCapacity(_length + data.Length);
        data.CopyTo(_raw.AsSpan(_length));
        data.CopyTo(_out.AsSpan(_length));
        _length += data.Length;
        Process(flush: false);
    }

    /// <summary>
    /// The bytes that are final now, masked, in stream order; the span is valid until the next call on this
    /// masker. Each byte appended is returned exactly once, with its length kept.
    /// </summary>
    /// <param name="flush">
    /// Also decide and return the held tail: at the end of the stream, or when the caller's timer fired
    /// (an interactive prompt must not wait for more output). A secret's prefix at the very end
    /// (<c>AKIA12</c>, <c>eyJhbGciOi</c>, an unterminated PEM block) is masked and its continuation masked
    /// in the pieces that follow.
    /// </param>
    /// <returns>The released bytes; empty when nothing is final.</returns>
    public ReadOnlySpan<byte> TakeReady(bool flush = false) => TakeReadyMemory(flush).Span;

    /// <summary>As <see cref="TakeReady"/>, as memory for an asynchronous send: valid until the next call on this masker.</summary>
    /// <param name="flush">Also decide and return the held tail (see <see cref="TakeReady"/>).</param>
    /// <returns>The released bytes; empty when nothing is final.</returns>
    public ReadOnlyMemory<byte> TakeReadyMemory(bool flush = false)
    {
        Compact();
        if (flush)
        {
            Process(flush: true);
        }

        var ready = _out.AsMemory(_taken, _pending - _taken);
        _taken = _pending;
        return ready;
    }

    /// <summary>Masks what the new bytes decide and moves the release boundary.</summary>
    private void Process(bool flush)
    {
        int position = _pending;
        if (position == _length)
        {
            return;
        }

        if (_continuation != Continuation.None)
        {
            position = Continue(position);
            if (_continuation != Continuation.None || position == _length)
            {
                _pending = position;
                return;
            }
        }

        int boundary = flush ? _length : ReleaseBoundary(position);
        if (boundary == position)
        {
            // Nothing more can be released yet (and no prefix that starts before the held tail can be open).
            _pending = position;
            return;
        }

        ReadOnlySpan<byte> window = _raw.AsSpan(0, _length);
        _hitCount = _scanner.FindHits(window, _hits);
        if (_hitCount > _hits.Length)
        {
            _hits = new DetectorHit[_hitCount + (_hitCount / 2)];
            _hitCount = _scanner.FindHits(window, _hits);
        }

        var next = FindContinuation(window, out int start, out int pemLabel, out int pemLabelLength, out int awsLength);
        if (next != Continuation.None && start >= boundary)
        {
            // The prefix is inside the held tail: decided with more text.
            next = Continuation.None;
        }

        if (next != Continuation.None)
        {
            boundary = _length;
        }

        MaskHits(window, position, boundary);

        if (next != Continuation.None)
        {
            StartContinuation(window, next, start, position, pemLabel, pemLabelLength, awsLength);
        }

        _pending = boundary;
    }

    /// <summary>
    /// Where the release may end: <c>holdBack</c> bytes before the window's end, moved back to the start of
    /// a UTF-8 character (at most 3 bytes), never before <paramref name="position"/>.
    /// </summary>
    private int ReleaseBoundary(int position)
    {
        int boundary = _length - _holdBack;
        if (boundary <= position)
        {
            return position;
        }

        if (boundary == _length)
        {
            // No hold-back: keep an incomplete last character.
            int lead = boundary - 1;
            for (int back = 0; back < 3 && lead > position && IsContinuationByte(_raw[lead]); back++)
            {
                lead--;
            }

            byte first = _raw[lead];
            int needed = first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : first >= 0xC0 ? 2 : 1;
            return boundary - lead < needed ? lead : boundary;
        }

        for (int back = 0; back < 3 && boundary > position && IsContinuationByte(_raw[boundary]); back++)
        {
            boundary--;
        }

        return boundary;
    }

    private static bool IsContinuationByte(byte b) => (b & 0xC0) == 0x80;

    /// <summary>
    /// Masks every scanner match that reaches into [<paramref name="from"/>, <paramref name="boundary"/>),
    /// whole (its part past the boundary stays masked when released later).
    /// </summary>
    private void MaskHits(ReadOnlySpan<byte> window, int from, int boundary)
    {
        int count = _hitCount;
        int first = 0;
        while (first < count && (_hits[first].End <= from || _hits[first].Start >= boundary))
        {
            first++;
        }

        if (first == count)
        {
            return;
        }

        // The scanner's masker (its style, and the key of the digits style) works on whole values: mask a
        // copy of the window and take the changed bytes of the ranges that matter.
        if (_scratch.Length < _length)
        {
            _scratch = new byte[_raw.Length];
        }

        Span<byte> masked = _scratch.AsSpan(0, _length);
        window.CopyTo(masked);
        _scanner.MaskInPlace(masked);
        for (int i = first; i < count; i++)
        {
            var hit = _hits[i];
            if (hit.End <= from || hit.Start >= boundary)
            {
                continue;
            }

            // Only bytes the style changed are written: a byte masked before (by an earlier window's match or
            // by continuation) is never given back.
            for (int j = Math.Max(hit.Start, from); j < hit.End; j++)
            {
                if (masked[j] != window[j])
                {
                    _out[j] = masked[j];
                }
            }

            if (hit.End > _countedUntil)
            {
                Masked++;
                _countedUntil = hit.End;
            }
        }
    }

    /// <summary>
    /// The secret prefix that runs to the end of <paramref name="window"/> and starts first, if any: an
    /// unterminated PEM block, a JWT-shaped run, or an AWS key id cut short.
    /// </summary>
    private Continuation FindContinuation(ReadOnlySpan<byte> window, out int start, out int pemLabel, out int pemLabelLength, out int awsLength)
    {
        var kind = Continuation.None;
        start = int.MaxValue;
        pemLabel = 0;
        pemLabelLength = 0;
        awsLength = 0;
        if (_pem)
        {
            int pem = FindOpenPemBlock(window, out pemLabel, out pemLabelLength);
            if (pem >= 0)
            {
                (kind, start) = (Continuation.Pem, pem);
            }
        }

        if (_jwt)
        {
            int jwt = FindOpenJwt(window);
            if (jwt >= 0 && jwt < start)
            {
                (kind, start) = (Continuation.Jwt, jwt);
            }
        }

        if (_awsKey)
        {
            int aws = FindOpenAwsKey(window, out awsLength);
            if (aws >= 0 && aws < start)
            {
                (kind, start) = (Continuation.AwsKey, aws);
            }
        }

        return kind;
    }

    /// <summary>
    /// The first PEM private-key block in <paramref name="window"/> (as <c>PemDetector</c> matches it, blocks
    /// inside an earlier match skipped as the scanner skips them) that has no END line and whose body runs
    /// to the window's end; -1 if none.
    /// </summary>
    private int FindOpenPemBlock(ReadOnlySpan<byte> window, out int labelStart, out int labelLength)
    {
        labelStart = 0;
        labelLength = 0;
        int from = 0;
        int skipUntil = 0;
        while (from < window.Length)
        {
            int found = window[from..].IndexOf("-----BEGIN "u8);
            if (found < 0)
            {
                return -1;
            }

            int start = from + found;
            from = start + 1;
            if (start < skipUntil)
            {
                continue;
            }

            int end = PemDetector.Match(window, start);
            if (end < 0)
            {
                continue;
            }

            // The label as PemDetector reads it; Match succeeded, so "-----" follows it.
            int label = start + "-----BEGIN "u8.Length;
            int length = 0;
            while (label + length < window.Length && length < PemLabelLimit
                && (ByteClass.IsUpperOrDigit(window[label + length]) || window[label + length] == ' '))
            {
                length++;
            }

            int bodyStart = label + length + 5;
            if (IsPemEnd(window[..end], window.Slice(label, length)) || window[bodyStart..].ContainsAnyExcept(_pemBody))
            {
                skipUntil = end;
                continue;
            }

            if (!IsScannerMatch(start, DetectorKinds.Pem))
            {
                // Inside another match (a JWT's last segment may run into "-----BEGIN"): the scanner skips it.
                continue;
            }

            (labelStart, labelLength) = (label, length);
            return start;
        }

        return -1;
    }

    /// <summary>The last scan reported a range of <paramref name="kind"/> that holds <paramref name="position"/>.</summary>
    private bool IsScannerMatch(int position, DetectorKinds kind)
    {
        for (int i = 0; i < _hitCount; i++)
        {
            var hit = _hits[i];
            if (hit.Start <= position && position < hit.End)
            {
                return (hit.Kinds & kind) != 0;
            }
        }

        return false;
    }

    /// <summary><paramref name="block"/> ends with <c>-----END label-----</c>.</summary>
    private static bool IsPemEnd(ReadOnlySpan<byte> block, ReadOnlySpan<byte> label)
    {
        int line = "-----END "u8.Length + label.Length + 5;
        if (block.Length < line)
        {
            return false;
        }

        var tail = block[^line..];
        return tail.StartsWith("-----END "u8) && tail.Slice("-----END "u8.Length, label.Length).SequenceEqual(label) && tail.EndsWith("-----"u8);
    }

    /// <summary>
    /// The start of a run reaching the window's end that <c>JwtDetector</c> would accept if it went on:
    /// <c>eyJ</c> after a byte that is neither base64url nor a dot, then non-empty base64url segments joined by
    /// single dots (a dot may end the run); -1 if none.
    /// </summary>
    private static int FindOpenJwt(ReadOnlySpan<byte> window)
    {
        int start = window.LastIndexOfAnyExcept(_jwtBytes) + 1;
        var run = window[start..];
        return run.StartsWith("eyJ"u8) && run.IndexOf(".."u8) < 0 ? start : -1;
    }

    /// <summary>
    /// The start of <c>AKIA</c>/<c>ASIA</c> at a word start followed by fewer than 16 capitals and digits
    /// reaching the window's end; -1 if none.
    /// </summary>
    private static int FindOpenAwsKey(ReadOnlySpan<byte> window, out int length)
    {
        int start = window.LastIndexOfAnyExcept(_upperOrDigit) + 1;
        length = window.Length - start;
        if (length < AwsPrefixLength || length >= AwsKeyLength || !ByteClass.IsWordStart(window, start))
        {
            return -1;
        }

        var run = window[start..];
        return run.StartsWith("AKIA"u8) || run.StartsWith("ASIA"u8) ? start : -1;
    }

    /// <summary>Masks from the prefix (or <paramref name="from"/>, what is released already stays) to the window's end and keeps masking what follows.</summary>
    private void StartContinuation(ReadOnlySpan<byte> window, Continuation kind, int start, int from, int pemLabel, int pemLabelLength, int awsLength)
    {
        switch (kind)
        {
            case Continuation.Pem:
                "-----END "u8.CopyTo(_pemEnd);
                window.Slice(pemLabel, pemLabelLength).CopyTo(_pemEnd.AsSpan("-----END "u8.Length));
                "-----"u8.CopyTo(_pemEnd.AsSpan("-----END "u8.Length + pemLabelLength));
                _pemEndLength = "-----END "u8.Length + pemLabelLength + 5;
                BuildPemFailure();

                // The END line may have begun at the window's end.
                _pemMatched = 0;
                for (int i = pemLabel + pemLabelLength + 5; i < window.Length; i++)
                {
                    _pemMatched = PemStep(_pemMatched, window[i]);
                }

                break;
            case Continuation.AwsKey:
                _awsLeft = AwsKeyLength - awsLength;
                break;
        }

        _continuation = kind;
        int masked = Math.Max(start, from);
        _out.AsSpan(masked, _length - masked).Fill(MaskByte);
        if (start >= _countedUntil)
        {
            Masked++;
        }

        _countedUntil = _length;
    }

    /// <summary>Masks the continued secret's bytes from <paramref name="from"/>; returns where it ended (the window's end while it goes on).</summary>
    private int Continue(int from)
    {
        ReadOnlySpan<byte> raw = _raw.AsSpan(0, _length);
        int end;
        bool done;
        switch (_continuation)
        {
            case Continuation.AwsKey:
            {
                int available = Math.Min(_awsLeft, raw.Length - from);
                int other = raw.Slice(from, available).IndexOfAnyExcept(_upperOrDigit);
                end = other < 0 ? from + available : from + other;
                _awsLeft -= end - from;
                done = other >= 0 || _awsLeft == 0;
                break;
            }

            case Continuation.Jwt:
            {
                int other = raw[from..].IndexOfAnyExcept(_jwtBytes);
                end = other < 0 ? raw.Length : from + other;
                done = other >= 0;
                break;
            }

            default:
            {
                end = from;
                done = false;
                while (end < raw.Length)
                {
                    byte b = raw[end];
                    if (!_pemBody.Contains(b))
                    {
                        done = true;
                        break;
                    }

                    end++;
                    _pemMatched = PemStep(_pemMatched, b);
                    if (_pemMatched == _pemEndLength)
                    {
                        done = true;
                        break;
                    }
                }

                break;
            }
        }

        _out.AsSpan(from, end - from).Fill(MaskByte);
        _countedUntil = Math.Max(_countedUntil, end);
        if (done)
        {
            _continuation = Continuation.None;
        }

        return end;
    }

    private void BuildPemFailure()
    {
        _pemFailure[0] = 0;
        int matched = 0;
        for (int i = 1; i < _pemEndLength; i++)
        {
            while (matched > 0 && _pemEnd[i] != _pemEnd[matched])
            {
                matched = _pemFailure[matched - 1];
            }

            if (_pemEnd[i] == _pemEnd[matched])
            {
                matched++;
            }

            _pemFailure[i] = matched;
        }
    }

    /// <summary>How much of the END line is matched after <paramref name="b"/> (KMP step).</summary>
    private int PemStep(int matched, byte b)
    {
        while (matched > 0 && _pemEnd[matched] != b)
        {
            matched = _pemFailure[matched - 1];
        }

        return _pemEnd[matched] == b ? matched + 1 : matched;
    }

    /// <summary>
    /// Drops taken bytes, keeping <see cref="ContextLength"/> released bytes before the pending ones, and more
    /// (up to <see cref="MaxContextLength"/>) to keep whole the last scan's match that crosses that start.
    /// </summary>
    private void Compact()
    {
        int keepFrom = _pending - ContextLength;
        if (keepFrom <= 0 || _taken == 0)
        {
            return;
        }

        for (int i = 0; i < _hitCount; i++)
        {
            var hit = _hits[i];
            if (hit.End > keepFrom)
            {
                if (hit.Start < keepFrom)
                {
                    keepFrom = Math.Max(hit.Start - AnchorMargin, _pending - MaxContextLength);
                }

                break;
            }
        }

        int drop = Math.Min(_taken, keepFrom);
        if (drop <= 0)
        {
            return;
        }

        int kept = 0;
        for (int i = 0; i < _hitCount; i++)
        {
            var hit = _hits[i];
            if (hit.End > drop)
            {
                int start = Math.Max(hit.Start - drop, 0);
                _hits[kept++] = new DetectorHit(start, hit.End - drop - start, hit.Kinds);
            }
        }

        _hitCount = kept;

        _raw.AsSpan(drop, _length - drop).CopyTo(_raw);
        _out.AsSpan(_taken, _length - _taken).CopyTo(_out.AsSpan(_taken - drop));
        _length -= drop;
        _pending -= drop;
        _taken -= drop;
        _countedUntil = Math.Max(0, _countedUntil - drop);
    }

    private void EnsureCapacity(int needed)
    {
        if (needed <= _raw.Length)
        {
            return;
        }

        int size = Math.Max(needed, Math.Max(InitialCapacity, _raw.Length + (_raw.Length / 2)));
        var raw = new byte[size];
        var output = new byte[size];
        _raw.AsSpan(0, _length).CopyTo(raw);
        _out.AsSpan(0, _length).CopyTo(output);
        (_raw, _out) = (raw, output);
    }
}
