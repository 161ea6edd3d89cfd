namespace Wire.Enforcement.Masking;

/// <summary>
/// The style a mask rule asks for: a built-in <see cref="MaskStyle"/>, or a host's own (<see cref="Custom"/>, whose
/// <see cref="Style"/> is <see cref="MaskStyle.Full"/>: what type-aware masks fall back to).
/// </summary>
internal readonly record struct MaskChoice(MaskStyle Style, ValueMasker? Custom)
{
    public static MaskChoice Full => new(MaskStyle.Full, null);

    /// <summary>
    /// The style for a value two rules mask (DESIGN.md §4: the strictest). <c>full</c> wins over everything; a host's
    /// style wins over the other built-in ones (the host chose it for that data); two different styles of the host's,
    /// neither known to reveal less, give <c>full</c>.
    /// </summary>
    public static MaskChoice Strictest(MaskChoice first, MaskChoice second)
    {
        if (first == Full || second == Full)
        {
            return Full;
        }

        if (first.Custom is { } custom)
        {
            return second.Custom is { } other && !ReferenceEquals(other, custom) ? Full : first;
        }

        return second.Custom is not null ? second : new MaskChoice(MaskStyles.Strictest(first.Style, second.Style), null);
    }

    /// <summary>The masker for this style: the host's, or a built-in one made with <paramref name="key"/>.</summary>
    public ValueMasker CreateMasker(ReadOnlySpan<byte> key) => Custom ?? new ValueMasker(Style, key);
}
