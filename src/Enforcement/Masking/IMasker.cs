namespace Wire.Enforcement.Masking;

/// <summary>
/// A mask style written in code (an embedding host's), used where a mask rule's <c>"style"</c> names it: for the
/// columns the rule names and for what its detectors find. Register it with <c>AddMasker&lt;T&gt;()</c> (Wire.Hosting)
/// or pass it to <see cref="CustomMasking"/>.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Mask"/> overwrites the value in place and keeps its length in bytes, as every built-in style does. It runs
/// on the session's relay for every masked value: it must be fast, must not block, must be safe to call from many
/// sessions at once, and should not allocate.
/// </para>
/// <para>
/// Wire checks every value a masker returns. Each byte it changed must be an ASCII letter or digit, one of
/// <c>* # - _ .</c>, or part of a multi-byte character, and a value that was valid UTF-8 must still be: so a masked
/// value never gains a quote, backslash, tab, line break or delimiter, and stays valid in PostgreSQL text and CSV
/// rows and in JSON strings. A value the masker broke, or that it threw on, is masked with the <c>full</c> style
/// instead (never passed on as it was), and Wire logs it once. Where a type-aware mask is needed (PostgreSQL values of
/// non-text types in binary format, jsonb included), the value gets what <c>full</c> gives that type.
/// </para>
/// </remarks>
public interface IMasker
{
    /// <summary>
    /// The name mask rules use as <c>"style"</c>: 1 to 32 characters of <c>a-z</c>, <c>0-9</c> and <c>-</c>, not the
    /// name of a built-in style (<see cref="MaskStyles.All"/>). Read once, when the masker is registered.
    /// </summary>
    string Name { get; }

    /// <summary>Masks the whole of <paramref name="utf8Value"/> in place, keeping its length.</summary>
    /// <param name="utf8Value">The value, UTF-8 (any bytes may occur).</param>
    void Mask(Span<byte> utf8Value);
}
