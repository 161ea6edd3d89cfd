namespace Wire.Enforcement.Masking;

/// <summary>
/// A content detector written in code (an embedding host's): it finds values of its own kind (an employee id, an
/// internal account number) in UTF-8 text, and runs beside the built-in detectors wherever a mask rule names it in
/// <c>"detectors"</c>: columns no rule names, COPY data, error and notice fields, SSH output, HTTP bodies and
/// recordings. Register it with <c>AddDetector&lt;T&gt;()</c> (Wire.Hosting) or pass it to <see cref="CustomMasking"/>.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="TryFind"/> runs on the session's relay for every scanned value: it must be fast, must not block, must be
/// safe to call from many sessions at once, and should not allocate. It reads only the span it is given: the span's
/// edges count as boundaries, as for the built-in detectors. A match is masked with the rule's style; matches that
/// overlap other detectors' matches are masked as one range.
/// </para>
/// <para>
/// A detector that throws, or returns a range outside the span or an empty one, is treated as matching everything from
/// where it was asked to look to the end of the span (that text is masked: fail closed), and Wire logs it once.
/// </para>
/// </remarks>
public interface IContentDetector
{
    /// <summary>
    /// The name mask rules use in <c>"detectors"</c>: 1 to 32 characters of <c>a-z</c>, <c>0-9</c> and <c>-</c>, not
    /// the name of a built-in detector (<see cref="DetectorNames.All"/>) nor <c>all</c> (which names the built-in ones
    /// only). Read once, when the detector is registered.
    /// </summary>
    string Name { get; }

    /// <summary>
    /// The longest match in bytes, 1 to <see cref="CustomMasking.MaxMatchLength"/>. Read once, when the detector is
    /// registered. Text that arrives in pieces (SSH output, HTTP bodies) is held back by at least this much, so a value
    /// cut by a piece boundary is still seen whole; a longer match is masked where it is seen whole, but may be missed
    /// when a piece boundary cuts it.
    /// </summary>
    int MaxLength { get; }

    /// <summary>Finds the first (leftmost) match in <paramref name="text"/>.</summary>
    /// <param name="text">UTF-8 text (any bytes may occur); Wire calls again on the text after each match.</param>
    /// <param name="start">The offset of the match's first byte.</param>
    /// <param name="length">The match's length in bytes, at least 1.</param>
    /// <returns>Whether <paramref name="text"/> holds a match.</returns>
    bool TryFind(ReadOnlySpan<byte> text, out int start, out int length);
}
