namespace Wire.Enforcement.Masking;

/// <summary>
/// US social security numbers written <c>ddd-dd-dddd</c>, with the values the SSA never issues ruled out:
/// area 000, 666 or 900-999, group 00, serial 0000.
/// </summary>
internal static class SsnDetector
{
    private const int Length = 11;

    /// <summary>The end of the SSN that starts at <paramref name="start"/> (a digit where a number may start), or -1.</summary>
    public static int Match(ReadOnlySpan<byte> text, int start)
    {
        if (start > text.Length - Length)
        {
            return -1;
        }

        ReadOnlySpan<byte> s = text.Slice(start, Length);
        for (int i = 0; i < Length; i++)
        {
            bool shape = i is 3 or 6 ? s[i] == '-' : ByteClass.IsDigit(s[i]);
            if (!shape)
            {
                return -1;
            }
        }

        bool area = s[0] != '9' && !s[..3].SequenceEqual("000"u8) && !s[..3].SequenceEqual("666"u8);
        bool group = !s.Slice(4, 2).SequenceEqual("00"u8);
        bool serial = !s.Slice(7, 4).SequenceEqual("0000"u8);
        return area && group && serial && ByteClass.IsNumberEnd(text, start + Length) ? start + Length : -1;
    }
}
