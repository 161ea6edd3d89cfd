namespace Wire.Enforcement.Masking;

/// <summary>
/// ASCII byte classes and the match boundaries the detectors share. Every test is on single bytes, so
/// bytes of multi-byte UTF-8 characters (all &gt;= 0x80) are never letters, digits or separators: text in
/// any script next to a match counts as a boundary, and no match ever contains such a byte.
/// </summary>
internal static class ByteClass
{
    public static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    public static bool IsUpper(byte b) => (uint)(b - 'A') <= 'Z' - 'A';

    public static bool IsLetter(byte b) => (uint)((b | 0x20) - 'a') <= 'z' - 'a';

    public static bool IsUpperOrDigit(byte b) => IsUpper(b) || IsDigit(b);

    /// <summary>A byte that continues a word: letter, digit or underscore.</summary>
    public static bool IsWord(byte b) => IsDigit(b) || IsLetter(b) || b == '_';

    /// <summary>The base64url alphabet (RFC 4648 §5), used by JWT segments.</summary>
    public static bool IsBase64Url(byte b) => IsDigit(b) || IsLetter(b) || b == '_' || b == '-';

    /// <summary>
    /// Punctuation that joins digits into one number (<c>2024-01-15</c>, <c>3.14</c>, <c>12:30</c>,
    /// <c>01/15</c>): digits on the other side of it belong to the same number. Space and comma do not
    /// join, so a match may sit next to other numbers in prose and CSV.
    /// </summary>
    public static bool IsNumberJoin(byte b) => b is (byte)'-' or (byte)'.' or (byte)':' or (byte)'/';

    /// <summary>The byte before <paramref name="start"/> is not a word byte (or there is none).</summary>
    public static bool IsWordStart(ReadOnlySpan<byte> text, int start) => start == 0 || !IsWord(text[start - 1]);

    /// <summary>The byte at <paramref name="end"/> is not a word byte (or there is none).</summary>
    public static bool IsWordEnd(ReadOnlySpan<byte> text, int end) => end >= text.Length || !IsWord(text[end]);

    /// <summary>
    /// A number may start at <paramref name="start"/>: the byte before is no word byte, and is not a
    /// joining punctuation with a digit before it (so <c>3.14159...</c> or <c>1-4111-...</c> do not yield
    /// a match in their middle).
    /// </summary>
    public static bool IsNumberStart(ReadOnlySpan<byte> text, int start)
    {
        if (start == 0)
        {
            return true;
        }

        byte before = text[start - 1];
        return !IsWord(before) && !(IsNumberJoin(before) && start >= 2 && IsDigit(text[start - 2]));
    }

    /// <summary>The mirror of <see cref="IsNumberStart"/> at the end of a match.</summary>
    public static bool IsNumberEnd(ReadOnlySpan<byte> text, int end)
    {
        if (end >= text.Length)
        {
            return true;
        }

        byte after = text[end];
        return !IsWord(after) && !(IsNumberJoin(after) && end + 1 < text.Length && IsDigit(text[end + 1]));
    }

    /// <summary>The number of ASCII digits from <paramref name="start"/> on.</summary>
    public static int DigitRun(ReadOnlySpan<byte> text, int start)
    {
        int end = start;
        while (end < text.Length && IsDigit(text[end]))
        {
            end++;
        }

        return end - start;
    }

    /// <summary>The number of uppercase ASCII letters and digits from <paramref name="start"/> on.</summary>
    public static int UpperOrDigitRun(ReadOnlySpan<byte> text, int start)
    {
        int end = start;
        while (end < text.Length && IsUpperOrDigit(text[end]))
        {
            end++;
        }

        return end - start;
    }

    /// <summary>The number of base64url bytes from <paramref name="start"/> on.</summary>
    public static int Base64UrlRun(ReadOnlySpan<byte> text, int start)
    {
        int end = start;
        while (end < text.Length && IsBase64Url(text[end]))
        {
            end++;
        }

        return end - start;
    }

    /// <summary>True when <paramref name="text"/> holds <paramref name="literal"/> at <paramref name="at"/>.</summary>
    public static bool HasAt(ReadOnlySpan<byte> text, int at, ReadOnlySpan<byte> literal)
        => at >= 0 && at <= text.Length - literal.Length && text.Slice(at, literal.Length).SequenceEqual(literal);
}
