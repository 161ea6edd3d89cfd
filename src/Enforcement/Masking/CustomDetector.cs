using Microsoft.Extensions.Logging;

namespace Wire.Enforcement.Masking;

/// <summary>
/// A host's <see cref="IContentDetector"/> as a scan calls it: its name and bound read once, its answers checked, a
/// failure turned into a match of everything left (fail closed) and logged once.
/// </summary>
internal sealed class CustomDetector(IContentDetector detector, string name, int maxLength, ILogger logger)
{
    private int _reported;

    public string Name { get; } = name;

    /// <summary>The declared longest match: streams hold back at least this much.</summary>
    public int MaxLength { get; } = maxLength;

    /// <summary>
    /// The first match in <paramref name="text"/> at or after <paramref name="from"/>, as offsets into
    /// <paramref name="text"/>; false when there is none.
    /// </summary>
    public bool TryFind(ReadOnlySpan<byte> text, int from, out int start, out int end)
    {
        start = end = 0;
        if (from >= text.Length)
        {
            return false;
        }

        var rest = text[from..];
        bool found;
        int offset;
        int length;
        try
        {
            found = detector.TryFind(rest, out offset, out length);
        }
        catch (Exception e)
        {
            Report("threw", e);
            (start, end) = (from, text.Length);
            return true;
        }

        if (!found)
        {
            return false;
        }

        if ((uint)offset >= (uint)rest.Length || length <= 0 || length > rest.Length - offset)
        {
            Report("returned a range outside the text or an empty one", null);
            (start, end) = (from, text.Length);
            return true;
        }

        if (length > MaxLength && Interlocked.Exchange(ref _reported, 1) == 0)
        {
            CustomMasking.Log.DetectorMatchTooLong(logger, Name, length, MaxLength);
        }

        start = from + offset;
        end = start + length;
        return true;
    }

    private void Report(string failure, Exception? exception)
    {
        if (Interlocked.Exchange(ref _reported, 1) == 0)
        {
            CustomMasking.Log.DetectorFailed(logger, Name, failure, exception);
        }
    }
}
