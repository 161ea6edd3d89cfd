namespace Wire.Enforcement.Masking;

/// <summary>
/// International bank account numbers (ISO 13616): two uppercase letters, check digits 02-98 and an
/// uppercase alphanumeric BBAN, 15-34 characters in all, unbroken or in the printed form (groups of 4
/// separated by one space, the last group 1-4), valid when the ISO 7064 MOD 97-10 remainder is 1.
/// The country code is not checked against the registry: the check digits already reject 96 in 97
/// random candidates, and masking an unknown country's number is the safe mistake.
/// </summary>
internal static class IbanDetector
{
    private const int MinLength = 15;
    private const int MaxLength = 34;

    /// <summary>
    /// The end of the IBAN that starts at <paramref name="start"/> (two uppercase letters and two digits
    /// are there), or -1.
    /// </summary>
    public static int Match(ReadOnlySpan<byte> text, int start)
    {
        int check = ((text[start + 2] - '0') * 10) + (text[start + 3] - '0');
        if (!ByteClass.IsWordStart(text, start) || check is < 2 or > 98)
        {
            return -1;
        }

        int position = start + 4;
        bool grouped = position + 1 < text.Length && text[position] == ' ' && ByteClass.IsUpperOrDigit(text[position + 1]);
        if (!grouped)
        {
            int length = 4 + ByteClass.UpperOrDigitRun(text, position);
            int end = start + length;
            return length is >= MinLength and <= MaxLength && ByteClass.IsWordEnd(text, end) && Mod97(text, start, end) == 1
                ? end
                : -1;
        }

        // Read groups of 4 while they last; then try each group end, longest first.
        Span<int> ends = stackalloc int[MaxLength / 4 + 1];
        Span<int> lengths = stackalloc int[MaxLength / 4 + 1];
        int groups = 0;
        int characters = 4;
        while (characters < MaxLength && position + 1 < text.Length && text[position] == ' ' && ByteClass.IsUpperOrDigit(text[position + 1]))
        {
            int run = ByteClass.UpperOrDigitRun(text, position + 1);
            if (run > 4)
            {
                break;
            }

            position += 1 + run;
            characters += run;
            ends[groups] = position;
            lengths[groups++] = characters;
            if (run < 4)
            {
                break;
            }
        }

        for (int g = groups - 1; g >= 0; g--)
        {
            int end = ends[g];
            if (lengths[g] is >= MinLength and <= MaxLength && ByteClass.IsWordEnd(text, end) && Mod97(text, start, end) == 1)
            {
                return end;
            }
        }

        return -1;
    }

    /// <summary>
    /// ISO 7064 MOD 97-10 over the IBAN in [start, end), spaces skipped: the first four characters moved
    /// to the end, letters read as 10-35.
    /// </summary>
    private static int Mod97(ReadOnlySpan<byte> text, int start, int end)
    {
        int remainder = 0;
        for (int i = start + 4; i < end; i++)
        {
            remainder = Step(remainder, text[i]);
        }

        for (int i = start; i < start + 4; i++)
        {
            remainder = Step(remainder, text[i]);
        }

        return remainder;
    }

    private static int Step(int remainder, byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => ((remainder * 10) + (c - '0')) % 97,
        >= (byte)'A' and <= (byte)'Z' => ((remainder * 100) + (c - 'A' + 10)) % 97,
        _ => remainder,
    };
}
