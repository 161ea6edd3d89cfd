namespace Wire.Enforcement.Masking;

/// <summary>
/// Finds the values the enabled detectors recognise in UTF-8 text and masks them in place with one
/// style (for columns no rule names, COPY data, error and notice fields, recordings). Immutable and
/// thread-safe: build it once per rule set and share it. Scanning allocates nothing.
/// </summary>
/// <remarks>
/// A vectorised pre-filter (<see cref="Triggers"/>) marks the few positions where a match can be
/// anchored: digit runs shaped like the first or last group of a card, SSN or NANP number, <c>+</c>
/// before a digit, <c>@</c>, two capitals before two digits, <c>AKIA</c>/<c>ASIA</c>, <c>eyJ</c> and
/// <c>-BEG</c>. Only those are verified, in order; matches that overlap are merged and masked as one
/// range. Text that contains none of them is passed over at well over 1 GB/s per core. The span is the
/// whole world: its edges count as boundaries, so a value cut out of a larger buffer is scanned as it stands.
/// A scanner built from rules that name a host's own detectors (<see cref="IContentDetector"/>) runs them
/// too, block by block with the built-in ones; their matches merge with the others.
/// </remarks>
public sealed partial class ContentScanner
{
    /// <summary>How far before its 4-digit last group a number may start: <c>(415) 555-0100</c> and <c>1-800-555-0100</c> start 10 bytes before theirs.</summary>
    private const int NumberLookBack = 10;

    /// <summary>
    /// A match is delivered once the scan is this far past its end: the furthest any detector reads
    /// back from its trigger (an email's 64-byte local part and the byte before it) with room to spare.
    /// </summary>
    private const int DeliveryLag = 80;

    /// <summary>Held matches are disjoint, at least 6 bytes long and end within <see cref="DeliveryLag"/>.</summary>
    private const int HeldCapacity = 24;

    /// <summary>
    /// Held matches with a host's detectors: disjoint, at least 1 byte long, ending past the last block's start less
    /// <see cref="DeliveryLag"/> and starting before the next block's end (at most 208), and the block's own.
    /// </summary>
    private const int CustomHeldCapacity = 320;

    private const DetectorKinds NumberKinds = DetectorKinds.Card | DetectorKinds.Ssn | DetectorKinds.Phone;

    private readonly ValueMasker _masker;
    private readonly TriggerKinds _triggers;

    /// <summary>The host's detectors the rules name; null when none (the built-in path then runs alone).</summary>
    private readonly CustomDetector[]? _custom;

    /// <summary>Creates a scanner for <paramref name="detectors"/> that masks with <paramref name="style"/>.</summary>
    /// <param name="detectors">The detectors to run.</param>
    /// <param name="style">The style each found range is masked with.</param>
    /// <param name="key">The HMAC key for <see cref="MaskStyle.Digits"/> (see <see cref="ValueMasker"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="detectors"/> has bits that name no detector.</exception>
    public ContentScanner(DetectorKinds detectors, MaskStyle style, ReadOnlySpan<byte> key = default)
        : this(detectors, new ValueMasker(style, key))
    {
    }

    /// <summary>Creates a scanner for <paramref name="detectors"/> that masks with <paramref name="masker"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="detectors"/> has bits that name no detector.</exception>
    public ContentScanner(DetectorKinds detectors, ValueMasker masker)
    {
        ArgumentNullException.ThrowIfNull(masker);
        if ((detectors & ~DetectorKinds.All) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(detectors), detectors, "Unknown detector bits.");
        }

        Detectors = detectors;
        _masker = masker;
        _triggers = TriggersFor(detectors);
    }

    /// <summary>Creates a scanner for built-in <paramref name="detectors"/> and a host's <paramref name="custom"/> ones.</summary>
    internal ContentScanner(DetectorKinds detectors, ValueMasker masker, CustomDetector[] custom)
        : this(detectors, masker)
    {
        if (custom.Length > 0)
        {
            _custom = custom;
            CustomMaxLength = custom.Max(c => c.MaxLength);
        }
    }

    /// <summary>The built-in detectors this scanner runs.</summary>
    public DetectorKinds Detectors { get; }

    /// <summary>The longest match the host's detectors of this scanner declare; 0 without any. Streams hold back at least this much.</summary>
    internal int CustomMaxLength { get; }

    /// <summary>The style found ranges are masked with.</summary>
    public MaskStyle Style => _masker.Style;

    /// <summary>Masks every match in <paramref name="utf8"/> in place.</summary>
    /// <returns>The number of masked ranges (overlapping matches count once).</returns>
    public int MaskInPlace(Span<byte> utf8)
    {
        if (_custom is not null)
        {
            return ScanWithCustom(utf8, utf8, _masker, default);
        }

        Span<DetectorHit> held = stackalloc DetectorHit[HeldCapacity];
        var hits = new HitCollector(utf8, _masker, default, held);
        Scan(utf8, ref hits);
        return hits.Count;
    }

    /// <summary>
    /// Masks every match in <paramref name="utf8"/> in place and reports the masked ranges, in order, into
    /// <paramref name="hits"/>; ranges beyond its length are masked and counted but not reported.
    /// </summary>
    /// <returns>The number of masked ranges, which may exceed <c>hits.Length</c>.</returns>
    public int MaskInPlace(Span<byte> utf8, Span<DetectorHit> hits)
    {
        if (_custom is not null)
        {
            return ScanWithCustom(utf8, utf8, _masker, hits);
        }

        Span<DetectorHit> held = stackalloc DetectorHit[HeldCapacity];
        var collector = new HitCollector(utf8, _masker, hits, held);
        Scan(utf8, ref collector);
        return collector.Count;
    }

    /// <summary>
    /// Reports the ranges <see cref="MaskInPlace(Span{byte}, Span{DetectorHit})"/> would mask, without
    /// changing <paramref name="utf8"/>.
    /// </summary>
    /// <returns>The number of ranges, which may exceed <c>hits.Length</c>.</returns>
    public int FindHits(ReadOnlySpan<byte> utf8, Span<DetectorHit> hits)
    {
        if (_custom is not null)
        {
            return ScanWithCustom(utf8, default, null, hits);
        }

        Span<DetectorHit> held = stackalloc DetectorHit[HeldCapacity];
        var collector = new HitCollector(default, null, hits, held);
        Scan(utf8, ref collector);
        return collector.Count;
    }

    private void Scan(ReadOnlySpan<byte> text, ref HitCollector hits)
    {
        var cursor = new ScanCursor();
        TriggerKinds triggers = _triggers;
        if (triggers == TriggerKinds.None)
        {
            return;
        }

        int block = 0;
        while (block <= text.Length - (BlockSize + TriggerLookAhead))
        {
            ulong bits = Triggers(text.Slice(block, BlockSize + TriggerLookAhead), triggers, block > 0 ? text[block - 1] : (byte)0);
            block = OnTriggers(text, block, bits, ref cursor, ref hits);
        }

        // The last bytes go through the same filter from a zero-padded copy: zero matches no trigger.
        Span<byte> tail = stackalloc byte[BlockSize + TriggerLookAhead];
        while (block < text.Length)
        {
            int length = Math.Min(text.Length - block, BlockSize);
            tail.Clear();
            text[block..].CopyTo(tail);
            ulong bits = Triggers(tail, triggers, block > 0 ? text[block - 1] : (byte)0);
            block = OnTriggers(text, block, length == BlockSize ? bits : bits & ((1ul << length) - 1), ref cursor, ref hits);
        }

        hits.DeliverAll();
    }

    /// <summary>
    /// <see cref="Scan"/> with the host's detectors too. Before each block, every pending custom match that starts
    /// before the block's end is held (merged like any other) and its detector asked for its next match, from that
    /// match's end; held matches are delivered with the same lag as the built-in ones. A detector is only ever asked
    /// about text past every delivered (masked) range: a match it is asked after starts past the previous block's end,
    /// and what was delivered by then ends before that block's start.
    /// </summary>
    private int ScanWithCustom(ReadOnlySpan<byte> text, Span<byte> target, ValueMasker? masker, Span<DetectorHit> report)
    {
        Span<DetectorHit> held = stackalloc DetectorHit[CustomHeldCapacity];
        var hits = new HitCollector(target, masker, report, held);
        var custom = _custom!;
        Span<(int Start, int End)> pending = stackalloc (int, int)[custom.Length];
        for (int i = 0; i < custom.Length; i++)
        {
            pending[i] = custom[i].TryFind(text, 0, out int start, out int end) ? (start, end) : (int.MaxValue, int.MaxValue);
        }

        var cursor = new ScanCursor();
        TriggerKinds triggers = _triggers;
        Span<byte> tail = stackalloc byte[BlockSize + TriggerLookAhead];
        int block = 0;
        while (block < text.Length)
        {
            HoldCustom(text, block + BlockSize, pending, ref hits);
            hits.DeliverEndingBy(block - DeliveryLag);
            if (triggers == TriggerKinds.None)
            {
                block += BlockSize;
                continue;
            }

            ulong bits;
            if (block <= text.Length - (BlockSize + TriggerLookAhead))
            {
                bits = Triggers(text.Slice(block, BlockSize + TriggerLookAhead), triggers, block > 0 ? text[block - 1] : (byte)0);
            }
            else
            {
                int length = Math.Min(text.Length - block, BlockSize);
                tail.Clear();
                text[block..].CopyTo(tail);
                bits = Triggers(tail, triggers, block > 0 ? text[block - 1] : (byte)0);
                bits = length == BlockSize ? bits : bits & ((1ul << length) - 1);
            }

            block = OnTriggers(text, block, bits, ref cursor, ref hits);
        }

        // A long built-in match may have moved the scan past the end: hold what starts inside it.
        HoldCustom(text, int.MaxValue, pending, ref hits);
        hits.DeliverAll();
        return hits.Count;
    }

    /// <summary>Holds every pending custom match that starts before <paramref name="limit"/>, asking for the next ones.</summary>
    private void HoldCustom(ReadOnlySpan<byte> text, int limit, Span<(int Start, int End)> pending, ref HitCollector hits)
    {
        var custom = _custom!;
        for (int i = 0; i < pending.Length; i++)
        {
            while (pending[i].Start < limit)
            {
                var (start, end) = pending[i];
                hits.Add(start, end, DetectorKinds.None);
                pending[i] = custom[i].TryFind(text, end, out start, out end) ? (start, end) : (int.MaxValue, int.MaxValue);
            }
        }
    }

    /// <summary>Verifies the triggers marked in one block; returns where the next block starts.</summary>
    private int OnTriggers(ReadOnlySpan<byte> text, int block, ulong bits, ref ScanCursor cursor, ref HitCollector hits)
    {
        while (bits != 0)
        {
            int position = block + System.Numerics.BitOperations.TrailingZeroCount(bits);
            bits &= bits - 1;
            if (position >= cursor.SkipUntil)
            {
                OnTrigger(text, position, ref cursor, ref hits);
            }
        }

        // A long match (a PEM block) is not looked into again.
        return Math.Max(block + BlockSize, cursor.SkipUntil);
    }

    /// <summary>Verifies the match a trigger points at, if any, and holds it for delivery.</summary>
    private void OnTrigger(ReadOnlySpan<byte> text, int position, ref ScanCursor cursor, ref HitCollector hits)
    {
        hits.DeliverEndingBy(position - DeliveryLag);
        byte b = text[position];
        int start = position;
        int end = -1;
        DetectorKinds kind = DetectorKinds.None;
        switch (b)
        {
            case >= (byte)'0' and <= (byte)'9':
                if (position >= cursor.NumbersFrom)
                {
                    OnDigits(text, position, ref cursor, ref hits);
                }

                return;
            case (byte)'@':
                if (EmailDetector.TryMatch(text, position, out int emailStart, out int emailEnd))
                {
                    (start, end, kind) = (emailStart, emailEnd, DetectorKinds.Email);
                }

                break;
            case (byte)'+':
                (end, kind) = (PhoneDetector.MatchPlus(text, position), DetectorKinds.Phone);
                break;
            case (byte)'e':
                (end, kind) = (JwtDetector.Match(text, position), DetectorKinds.Jwt);
                break;
            case (byte)'-':
                // The trigger is the last dash of "-----BEGIN"; fewer than four dashes before it is no block.
                if (position < 4)
                {
                    return;
                }

                start = position - 4;
                (end, kind) = (PemDetector.Match(text, start), DetectorKinds.Pem);
                break;
            default:
                // A capital is marked only before a capital and two digits (IBAN) or as AKIA/ASIA, each
                // only when its detector is on; the filter guarantees the three bytes after it.
                (end, kind) = ByteClass.IsDigit(text[position + 2])
                    ? (IbanDetector.Match(text, position), DetectorKinds.Iban)
                    : (AwsKeyDetector.Match(text, position), DetectorKinds.AwsKey);
                break;
        }

        // Every detector returns -1 or an end past its start.
        if (end >= 0)
        {
            Hold(start, end, kind, ref cursor, ref hits);
        }
    }

    /// <summary>
    /// A digit run the filter marked starts at <paramref name="position"/>. Only a few places can start a
    /// number that holds it: the run itself (a card starts with its first group), or 7 to 10 bytes before
    /// when a separator precedes it (it is then the last group of <c>123-45-6789</c>, <c>415-555-0100</c>,
    /// <c>(415)555-0100</c>, <c>(415) 555-0100</c> or <c>1-800-555-0100</c>). When none matches, the number
    /// the run belongs to is passed over whole.
    /// </summary>
    private void OnDigits(ReadOnlySpan<byte> text, int position, ref ScanCursor cursor, ref HitCollector hits)
    {
        int lowest = Math.Max(cursor.NumbersFrom, cursor.SkipUntil);
        int start = position;
        int end = -1;
        DetectorKinds kind = DetectorKinds.Card;
        if ((Detectors & DetectorKinds.Card) != 0 && ByteClass.IsNumberStart(text, position))
        {
            end = CardDetector.Match(text, position);
        }

        if (end < 0 && (Detectors & (DetectorKinds.Ssn | DetectorKinds.Phone)) != 0
            && position >= 7 && text[position - 1] is (byte)'-' or (byte)'.' or (byte)' ')
        {
            for (int back = 7; back <= NumberLookBack && end < 0; back++)
            {
                start = position - back;
                if (start < lowest)
                {
                    break;
                }

                byte b = text[start];
                if (!(ByteClass.IsDigit(b) || b == '(') || !ByteClass.IsNumberStart(text, start))
                {
                    continue;
                }

                if (back == 7 && (Detectors & DetectorKinds.Ssn) != 0)
                {
                    (end, kind) = (SsnDetector.Match(text, start), DetectorKinds.Ssn);
                }

                if (end < 0 && (Detectors & DetectorKinds.Phone) != 0)
                {
                    (end, kind) = (PhoneDetector.MatchNanp(text, start), DetectorKinds.Phone);
                }
            }
        }

        if (end >= 0)
        {
            Hold(start, end, kind, ref cursor, ref hits);
            return;
        }

        // No place in this number starts a match: digits joined to it by - . : / cannot start one either.
        int next = position;
        while (true)
        {
            next += ByteClass.DigitRun(text, next);
            if (next + 1 < text.Length && ByteClass.IsNumberJoin(text[next]) && ByteClass.IsDigit(text[next + 1]))
            {
                next++;
                continue;
            }

            break;
        }

        cursor.NumbersFrom = next;
    }

    private static void Hold(int start, int end, DetectorKinds kind, ref ScanCursor cursor, ref HitCollector hits)
    {
        hits.Add(start, end, kind);
        cursor.SkipUntil = Math.Max(cursor.SkipUntil, end);
        cursor.NumbersFrom = Math.Max(cursor.NumbersFrom, end);
    }
}
