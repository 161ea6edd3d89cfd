namespace Wire.Enforcement.Masking;

/// <summary>
/// JSON web tokens in compact serialisation (RFC 7515 §7.1): three non-empty base64url segments joined
/// by dots, the header starting <c>eyJ</c> (the base64url of <c>{"</c>). Further non-empty segments
/// are included, which covers the five-segment JWE form.
/// </summary>
internal static class JwtDetector
{
    /// <summary>The end of the token that starts at <paramref name="start"/> (where <c>eyJ</c> is), or -1.</summary>
    public static int Match(ReadOnlySpan<byte> text, int start)
    {
        if (start > 0 && (ByteClass.IsBase64Url(text[start - 1]) || text[start - 1] == '.'))
        {
            return -1;
        }

        int position = start + ByteClass.Base64UrlRun(text, start);
        int segments = 1;
        while (position + 1 < text.Length && text[position] == '.' && ByteClass.IsBase64Url(text[position + 1]))
        {
            position += 1 + ByteClass.Base64UrlRun(text, position + 1);
            segments++;
        }

        return segments >= 3 ? position : -1;
    }
}
