using Wire.Enforcement.Masking;

namespace Wire.Sample.Host;

/// <summary>A detector written in code: the company's employee ids, <c>EMP-</c> and six digits, as a word of their own.</summary>
public sealed class EmployeeIdDetector : IContentDetector
{
    private const int Length = 10;

    /// <inheritdoc />
    public string Name => "employee-id";

    /// <inheritdoc />
    public int MaxLength => Length;

    /// <inheritdoc />
    public bool TryFind(ReadOnlySpan<byte> text, out int start, out int length)
    {
        int from = 0;
        while (from <= text.Length - Length)
        {
            int found = text[from..].IndexOf("EMP-"u8);
            if (found < 0)
            {
                break;
            }
            start = from + found;
            if (start + Length <= text.Length && !IsWord(text, start - 1) && !IsWord(text, start + Length)
                && !text.Slice(start + 4, 6).ContainsAnyExceptInRange((byte)'0', (byte)'9'))
            {
                length = Length;
                return true;
            }
            from = start + 1;
        }
        (start, length) = (0, 0);
        return false;
    }

    private static bool IsWord(ReadOnlySpan<byte> text, int index) =>
        (uint)index < (uint)text.Length && (char.IsAsciiLetterOrDigit((char)text[index]) || text[index] == '_');
}
