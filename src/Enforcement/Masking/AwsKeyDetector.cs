namespace Wire.Enforcement.Masking;

/// <summary>
/// AWS access key ids: <c>AKIA</c> (long-term) or <c>ASIA</c> (temporary) and 16 uppercase letters or
/// digits, as a whole word.
/// </summary>
internal static class AwsKeyDetector
{
    private const int Length = 20;

    /// <summary>The end of the key id that starts at <paramref name="start"/>, or -1.</summary>
    public static int Match(ReadOnlySpan<byte> text, int start)
    {
        if (start > text.Length - Length || !ByteClass.IsWordStart(text, start)
            || !(ByteClass.HasAt(text, start, "AKIA"u8) || ByteClass.HasAt(text, start, "ASIA"u8))
            || ByteClass.UpperOrDigitRun(text.Slice(start + 4, Length - 4), 0) != Length - 4)
        {
            return -1;
        }

        return ByteClass.IsWordEnd(text, start + Length) ? start + Length : -1;
    }
}
