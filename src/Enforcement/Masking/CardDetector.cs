namespace Wire.Enforcement.Masking;

/// <summary>
/// Payment card numbers: 13-19 digits, either unbroken or grouped the way cards are printed (groups of
/// 4 separated by one space or one hyphen, the last group 1-4 digits; or the 4-6-4 / 4-6-5 layouts of
/// Diners and Amex), starting with 1-9 and passing the Luhn check (ISO/IEC 7812-1 Annex B).
/// </summary>
internal static class CardDetector
{
    private const int MinDigits = 13;
    private const int MaxDigits = 19;

    /// <summary>Most groups a valid layout has (4-4-4-4-3), plus one so a longer number is seen as longer.</summary>
    private const int MaxGroups = 6;

    /// <summary>
    /// The end of the card number that starts at <paramref name="start"/> (a digit where a number may
    /// start), or -1. Greedy, then shorter by whole groups, so <c>4111 1111 1111 1111 12/25</c> still
    /// finds the card; a hyphen group or a digit after the number still rules it out.
    /// </summary>
    public static int Match(ReadOnlySpan<byte> text, int start)
    {
        if (text[start] == '0')
        {
            return -1;
        }

        int first = ByteClass.DigitRun(text, start);
        int position = start + first;
        bool grouped = first == 4
            && position + 1 < text.Length
            && text[position] is (byte)' ' or (byte)'-'
            && ByteClass.IsDigit(text[position + 1]);
        if (!grouped)
        {
            return first is >= MinDigits and <= MaxDigits && ByteClass.IsNumberEnd(text, position) && Luhn(text, start, position)
                ? position
                : -1;
        }

        byte separator = text[position];
        Span<int> lengths = stackalloc int[MaxGroups];
        Span<int> ends = stackalloc int[MaxGroups];
        lengths[0] = first;
        ends[0] = position;
        int groups = 1;
        int digits = first;
        while (groups < MaxGroups && digits <= MaxDigits
            && position + 1 < text.Length && text[position] == separator && ByteClass.IsDigit(text[position + 1]))
        {
            int length = ByteClass.DigitRun(text, position + 1);
            position += 1 + length;
            digits += length;
            lengths[groups] = length;
            ends[groups] = position;
            groups++;
        }

        for (int count = groups; count >= 2; count--)
        {
            int end = ends[count - 1];
            if (IsLayout(lengths[..count]) && ByteClass.IsNumberEnd(text, end) && Luhn(text, start, end))
            {
                return end;
            }
        }

        return -1;
    }

    private static bool IsLayout(ReadOnlySpan<int> groups)
    {
        int digits = 0;
        foreach (int length in groups)
        {
            digits += length;
        }

        if (digits is < MinDigits or > MaxDigits)
        {
            return false;
        }

        if (groups.Length == 3 && groups[0] == 4 && groups[1] == 6 && groups[2] is 4 or 5)
        {
            return true;
        }

        for (int i = 0; i < groups.Length - 1; i++)
        {
            if (groups[i] != 4)
            {
                return false;
            }
        }

        return groups[^1] <= 4;
    }

    /// <summary>The Luhn check over the digits in [start, end), separators skipped.</summary>
    public static bool Luhn(ReadOnlySpan<byte> text, int start, int end)
    {
        int sum = 0;
        bool doubled = false;
        for (int i = end - 1; i >= start; i--)
        {
            int digit = text[i] - '0';
            if ((uint)digit > 9)
            {
                continue;
            }

            if (doubled)
            {
                digit *= 2;
                if (digit > 9)
                {
                    digit -= 9;
                }
            }

            sum += digit;
            doubled = !doubled;
        }

        return sum % 10 == 0;
    }
}
