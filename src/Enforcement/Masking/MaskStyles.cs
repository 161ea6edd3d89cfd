namespace Wire.Enforcement.Masking;

/// <summary>Config names of the <see cref="MaskStyle"/>s and how several rules' styles combine.</summary>
public static class MaskStyles
{
    /// <summary>Every style's config name, least strict first.</summary>
    public static IReadOnlyList<string> All { get; } = ["partial", "email", "digits", "full"];

    /// <summary>Parses a config name (exact, lower case): <c>full</c>, <c>partial</c>, <c>email</c> or <c>digits</c>.</summary>
    public static bool TryParse(ReadOnlySpan<char> name, out MaskStyle style)
    {
        for (int i = 0; i < All.Count; i++)
        {
            if (name.SequenceEqual(All[i]))
            {
                style = (MaskStyle)i;
                return true;
            }
        }

        style = MaskStyle.Full;
        return false;
    }

    /// <summary>The config name of <paramref name="style"/>.</summary>
    public static string GetName(MaskStyle style)
        => (uint)style < (uint)All.Count
            ? All[(int)style]
            : throw new ArgumentOutOfRangeException(nameof(style), style, "Unknown mask style.");

    /// <summary>
    /// The style to use when two rules mask the same value: the one that reveals less
    /// (full &gt; digits &gt; email &gt; partial).
    /// </summary>
    public static MaskStyle Strictest(MaskStyle first, MaskStyle second) => first >= second ? first : second;
}
