namespace Wire.Enforcement.Masking;

/// <summary>
/// Email addresses, a practical subset of RFC 5322 §3.4.1 (dot-atom forms only; no quoted local parts,
/// comments or address literals): a local part of 1-64 bytes from <c>A-Z a-z 0-9 . _ % + -</c> with no
/// leading, trailing or doubled dot; <c>@</c>; a host name of at least two labels (RFC 1035: letters,
/// digits and inner hyphens, 1-63 bytes each, 253 in all) whose last label is 2 or more letters.
/// Quotes and backslashes are never part of a match, so quoting around an address is left alone.
/// </summary>
internal static class EmailDetector
{
    private const int MaxLocalLength = 64;
    private const int MaxDomainLength = 253;
    private const int MaxLabelLength = 63;

    /// <summary>
    /// Finds the address around the <c>@</c> at <paramref name="at"/>: the local part is the longest run
    /// of local-part bytes before it (less leading dots, which end sentences), the domain the longest
    /// run of labels after it.
    /// </summary>
    public static bool TryMatch(ReadOnlySpan<byte> text, int at, out int start, out int end)
    {
        start = 0;
        end = 0;
        int first = at;
        while (first > 0 && at - first <= MaxLocalLength && IsLocalByte(text[first - 1]))
        {
            first--;
        }

        if (at - first > MaxLocalLength)
        {
            return false;
        }

        while (first < at && text[first] == '.')
        {
            first++;
        }

        if (first == at || text[at - 1] == '.' || text[first..at].IndexOf(".."u8) >= 0)
        {
            return false;
        }

        int last = DomainEnd(text, at + 1);
        if (last < 0)
        {
            return false;
        }

        start = first;
        end = last;
        return true;
    }

    /// <summary>The whole of <paramref name="value"/> is one address (what the <c>email</c> style keeps the domain of).</summary>
    public static bool IsAddress(ReadOnlySpan<byte> value, out int at)
    {
        at = value.IndexOf((byte)'@');
        return at > 0 && TryMatch(value, at, out int start, out int end) && start == 0 && end == value.Length;
    }

    private static bool IsLocalByte(byte b)
        => ByteClass.IsLetter(b) || ByteClass.IsDigit(b) || b is (byte)'.' or (byte)'_' or (byte)'%' or (byte)'+' or (byte)'-';

    private static bool IsLabelByte(byte b) => ByteClass.IsLetter(b) || ByteClass.IsDigit(b) || b == '-';

    private static int DomainEnd(ReadOnlySpan<byte> text, int from)
    {
        int position = from;
        int labels = 0;
        int lastLabel = from;
        while (true)
        {
            int label = position;
            while (position < text.Length && IsLabelByte(text[position]))
            {
                position++;
            }

            int length = position - label;
            if (length is 0 or > MaxLabelLength || text[label] == '-' || text[position - 1] == '-')
            {
                return -1;
            }

            labels++;
            lastLabel = label;

            // A dot continues the domain only when a label follows; otherwise it ends the sentence.
            if (position + 1 < text.Length && text[position] == '.' && IsLabelByte(text[position + 1]))
            {
                position++;
                continue;
            }

            break;
        }

        if (labels < 2 || position - from > MaxDomainLength || position - lastLabel < 2)
        {
            return -1;
        }

        for (int i = lastLabel; i < position; i++)
        {
            if (!ByteClass.IsLetter(text[i]))
            {
                return -1;
            }
        }

        return position < text.Length && text[position] is (byte)'_' or (byte)'@' ? -1 : position;
    }
}
