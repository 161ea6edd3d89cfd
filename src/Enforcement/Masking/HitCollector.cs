namespace Wire.Enforcement.Masking;

/// <summary>
/// Collects a scan's matches: merges overlapping ones, holds each until the scan has moved far enough
/// past it that no later detector can overlap it or read its bytes (an email's local part reaches back
/// up to 64 bytes from its <c>@</c>), then delivers it: masks it when a masker is given, and copies it
/// into the caller's span while there is room. Masking earlier would change what later detectors see,
/// and overlapping matches must be masked as one range.
/// </summary>
internal ref struct HitCollector
{
    private readonly Span<byte> _text;
    private readonly ValueMasker? _masker;
    private readonly Span<DetectorHit> _report;
    private readonly Span<DetectorHit> _held;
    private int _heldCount;

    /// <param name="text">The scanned text, to mask in; empty when only finding.</param>
    /// <param name="masker">Masks each delivered range; null when only finding.</param>
    /// <param name="report">Receives the first delivered ranges.</param>
    /// <param name="held">Room for the matches not yet delivered.</param>
    public HitCollector(Span<byte> text, ValueMasker? masker, Span<DetectorHit> report, Span<DetectorHit> held)
    {
        _text = text;
        _masker = masker;
        _report = report;
        _held = held;
        _heldCount = 0;
        Count = 0;
    }

    /// <summary>Ranges delivered so far (may exceed the report span's length).</summary>
    public int Count { get; private set; }

    /// <summary>Adds a match, merged with every held match it overlaps; held matches stay sorted and disjoint.</summary>
    public void Add(int start, int end, DetectorKinds kinds)
    {
        int first = 0;
        while (first < _heldCount && _held[first].End <= start)
        {
            first++;
        }

        int last = first;
        while (last < _heldCount && _held[last].Start < end)
        {
            start = Math.Min(start, _held[last].Start);
            end = Math.Max(end, _held[last].End);
            kinds |= _held[last].Kinds;
            last++;
        }

        var merged = new DetectorHit(start, end - start, kinds);
        if (last > first)
        {
            _held[first] = merged;
            _held[last.._heldCount].CopyTo(_held[(first + 1)..]);
            _heldCount -= last - first - 1;
            return;
        }

        if (_heldCount == _held.Length)
        {
            // Not reached with the scanner's capacity (held matches are disjoint, at least 6 bytes long and
            // end within the look-back window); delivering the oldest early is the safe fallback.
            Deliver(_held[0]);
            _held[1.._heldCount].CopyTo(_held);
            _heldCount--;
            first = Math.Max(first - 1, 0);
        }

        _held[first.._heldCount].CopyTo(_held[(first + 1)..]);
        _held[first] = merged;
        _heldCount++;
    }

    /// <summary>Delivers the held matches that end at or before <paramref name="limit"/>.</summary>
    public void DeliverEndingBy(int limit)
    {
        int delivered = 0;
        while (delivered < _heldCount && _held[delivered].End <= limit)
        {
            Deliver(_held[delivered++]);
        }

        if (delivered > 0)
        {
            _held[delivered.._heldCount].CopyTo(_held);
            _heldCount -= delivered;
        }
    }

    /// <summary>Delivers everything held.</summary>
    public void DeliverAll() => DeliverEndingBy(int.MaxValue);

    private void Deliver(DetectorHit hit)
    {
        _masker?.Mask(_text.Slice(hit.Start, hit.Length));
        if (Count < _report.Length)
        {
            _report[Count] = hit;
        }

        Count++;
    }
}
