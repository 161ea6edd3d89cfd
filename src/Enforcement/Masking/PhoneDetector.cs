namespace Wire.Enforcement.Masking;

/// <summary>
/// Phone numbers that are written as phone numbers, never a bare digit run: E.164 (<c>+</c>, a country
/// code 1-9, 8-15 digits in all, optionally grouped by single spaces, hyphens or dots, with at most one
/// parenthesised group such as <c>+44 (0)20 7946 0958</c>), and punctuated NANP numbers
/// (<c>(415) 555-0100</c>, <c>415-555-0100</c>, <c>415.555.0100</c>, <c>1-800-555-0100</c>) whose area
/// code and exchange start with 2-9 as the numbering plan requires.
/// </summary>
internal static class PhoneDetector
{
    private const int MinE164Digits = 8;
    private const int MaxE164Digits = 15;

    /// <summary>
    /// The end of the E.164 number whose <c>+</c> is at <paramref name="start"/>, or -1. The longest
    /// grouping that ends at a boundary wins, so trailing words or numbers after a space are left alone.
    /// </summary>
    public static int MatchPlus(ReadOnlySpan<byte> text, int start)
    {
        int position = start + 1;
        if (!ByteClass.IsWordStart(text, start) || position >= text.Length || (uint)(text[position] - '1') > 8)
        {
            return -1;
        }

        int digits = 0;
        int best = -1;
        bool parenthesised = false;
        while (true)
        {
            int run = ByteClass.DigitRun(text, position);
            digits += run;
            position += run;
            if (digits > MaxE164Digits)
            {
                return best;
            }

            if (digits >= MinE164Digits && ByteClass.IsNumberEnd(text, position))
            {
                best = position;
            }

            // What may come between two groups: one separator, or a parenthesised group with an optional
            // space on either side ("+1 (415) 555", "+44 (0)20").
            int next = position;
            if (next < text.Length && text[next] is (byte)' ' or (byte)'-' or (byte)'.')
            {
                next++;
            }

            if (!parenthesised && next < text.Length && text[next] == '(' && (next == position || text[position] == ' '))
            {
                int inner = ByteClass.DigitRun(text, next + 1);
                int close = next + 1 + inner;
                if (inner == 0 || close >= text.Length || text[close] != ')')
                {
                    return best;
                }

                parenthesised = true;
                digits += inner;
                next = close + 1;
                if (next < text.Length && text[next] == ' ')
                {
                    next++;
                }
            }

            if (next == position || next >= text.Length || !ByteClass.IsDigit(text[next]))
            {
                return best;
            }

            position = next;
        }
    }

    /// <summary>
    /// The end of the NANP number that starts at <paramref name="start"/> (a digit or <c>(</c> where a
    /// number may start), or -1.
    /// </summary>
    public static int MatchNanp(ReadOnlySpan<byte> text, int start)
    {
        int end;
        if (text[start] == '(')
        {
            // (NXX) NXX-XXXX; the space after the parenthesis is optional, the last separator any of - . space.
            if (!IsNxx(text, start + 1) || !ByteClass.HasAt(text, start + 4, ")"u8))
            {
                return -1;
            }

            int exchange = start + 5 < text.Length && text[start + 5] == ' ' ? start + 6 : start + 5;
            if (!IsNxx(text, exchange) || exchange + 3 >= text.Length || text[exchange + 3] is not ((byte)'-' or (byte)'.' or (byte)' '))
            {
                return -1;
            }

            end = exchange + 8;
            if (!IsDigits(text, exchange + 4, 4))
            {
                return -1;
            }
        }
        else
        {
            // NXX-NXX-XXXX or NXX.NXX.XXXX, optionally after a trunk prefix 1 with the same separator.
            int area = start;
            byte separator;
            if (text[start] == '1' && start + 1 < text.Length && text[start + 1] is (byte)'-' or (byte)'.')
            {
                separator = text[start + 1];
                area = start + 2;
            }
            else
            {
                separator = area + 3 < text.Length ? text[area + 3] : (byte)0;
                if (separator is not ((byte)'-' or (byte)'.'))
                {
                    return -1;
                }
            }

            if (!IsNxx(text, area) || !IsByte(text, area + 3, separator)
                || !IsNxx(text, area + 4) || !IsByte(text, area + 7, separator) || !IsDigits(text, area + 8, 4))
            {
                return -1;
            }

            end = area + 12;
        }

        return ByteClass.IsNumberEnd(text, end) ? end : -1;
    }

    /// <summary>Three digits, the first 2-9 (an area code or an exchange).</summary>
    private static bool IsNxx(ReadOnlySpan<byte> text, int at)
        => at <= text.Length - 3 && (uint)(text[at] - '2') <= 7 && ByteClass.IsDigit(text[at + 1]) && ByteClass.IsDigit(text[at + 2]);

    private static bool IsByte(ReadOnlySpan<byte> text, int at, byte value) => at < text.Length && text[at] == value;

    private static bool IsDigits(ReadOnlySpan<byte> text, int at, int count)
        => at <= text.Length - count && ByteClass.DigitRun(text.Slice(at, count), 0) == count;
}
