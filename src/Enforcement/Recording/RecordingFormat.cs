using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Wire.Enforcement.Recording;

/// <summary>The byte-level facts of the recording format (docs/recording.md), shared by writer, verifier and replay.</summary>
internal static class RecordingFormat
{
    public const int Version = 1;

    /// <summary>The file name extension of a recording.</summary>
    public const string Extension = ".jsonl";

    /// <summary>Lower-case hex of a SHA-256 or HMAC-SHA256 value.</summary>
    public const int HashHexLength = 64;

    /// <summary>
    /// The longest line (without its newline) a recorder writes and the verifier reads; an event that would be longer is
    /// replaced by a <c>record.oversized</c> record. Inspected frames are far smaller (postgres.limits).
    /// </summary>
    public const int MaxLineBytes = 16 * 1024 * 1024;

    /// <summary>Always six fractional digits, so timestamps have one spelling and sort as text.</summary>
    public const string TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";

    /// <summary>The bytes every line ends with after the MAC input: <c>,"mac":"</c>, 64 hex digits, <c>"}</c>.</summary>
    public const int MacSuffixLength = 8 + HashHexLength + 2;

    // The relaxed encoder leaves non-ASCII text readable (these files are never embedded in HTML); it still escapes
    // quotes, backslashes, every control character and U+2028/U+2029, so a line never contains a raw newline.
    public static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    /// <summary>The separator before the MAC; the MAC covers every byte of the line before it.</summary>
    public static ReadOnlySpan<byte> MacSeparator => ",\"mac\":\""u8;

    public static ReadOnlySpan<byte> LineEnd => "\"}"u8;

    /// <summary>Lower-case hex of <paramref name="bytes"/> into <paramref name="destination"/> (twice as long), as UTF-8.</summary>
    public static void WriteHex(ReadOnlySpan<byte> bytes, Span<byte> destination)
    {
        if (!Convert.TryToHexStringLower(bytes, destination, out var written) || written != bytes.Length * 2)
        {
            throw new ArgumentException("The destination is too short.", nameof(destination));
        }
    }

    /// <summary>Formats <paramref name="time"/> as the recording's RFC 3339 UTC timestamp.</summary>
    public static int FormatTimestamp(DateTimeOffset time, Span<char> destination)
    {
        // TimestampFormat by hand: a custom format string is parsed on every call, and every record is stamped.
        const int Length = 27;
        if (destination.Length < Length)
        {
            throw new ArgumentException("The destination is too short.", nameof(destination));
        }
        var utc = time.UtcDateTime;
        Digits(destination[..4], utc.Year);
        destination[4] = '-';
        Digits(destination.Slice(5, 2), utc.Month);
        destination[7] = '-';
        Digits(destination.Slice(8, 2), utc.Day);
        destination[10] = 'T';
        Digits(destination.Slice(11, 2), utc.Hour);
        destination[13] = ':';
        Digits(destination.Slice(14, 2), utc.Minute);
        destination[16] = ':';
        Digits(destination.Slice(17, 2), utc.Second);
        destination[19] = '.';
        Digits(destination.Slice(20, 6), (int)(utc.Ticks % TimeSpan.TicksPerSecond / 10));
        destination[26] = 'Z';
        return Length;

        static void Digits(Span<char> field, int value)
        {
            for (int i = field.Length - 1; i >= 0; i--)
            {
                field[i] = (char)('0' + value % 10);
                value /= 10;
            }
        }
    }

    /// <summary>Parses a recording timestamp; false when it is not one.</summary>
    public static bool TryParseTimestamp(string? text, out DateTimeOffset time) =>
        DateTimeOffset.TryParseExact(text, TimestampFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out time);

    /// <summary>
    /// Whether <paramref name="line"/> ends with <c>,"mac":"</c> + 64 lower-case hex digits + <c>"}</c>; if so, the bytes
    /// the MAC covers and the MAC's hex digits.
    /// </summary>
    public static bool TrySplitMac(ReadOnlySpan<byte> line, out ReadOnlySpan<byte> signed, out ReadOnlySpan<byte> macHex)
    {
        signed = default;
        macHex = default;
        if (line.Length < MacSuffixLength + 2 || line[0] != (byte)'{' || !line.EndsWith(LineEnd))
        {
            return false;
        }
        var suffix = line[^MacSuffixLength..];
        if (!suffix.StartsWith(MacSeparator))
        {
            return false;
        }
        macHex = suffix.Slice(MacSeparator.Length, HashHexLength);
        foreach (var b in macHex)
        {
            if (!char.IsAsciiHexDigitLower((char)b) && !char.IsAsciiDigit((char)b))
            {
                return false;
            }
        }
        signed = line[..^MacSuffixLength];
        return true;
    }

    /// <summary>Whether <paramref name="sessionId"/> is usable as a file name everywhere: 1-128 of [A-Za-z0-9_-], starting alphanumeric.</summary>
    public static bool IsValidSessionId(string? sessionId)
    {
        if (string.IsNullOrEmpty(sessionId) || sessionId.Length > 128 || !char.IsAsciiLetterOrDigit(sessionId[0]))
        {
            return false;
        }
        foreach (var c in sessionId)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_'))
            {
                return false;
            }
        }
        return true;
    }
}
