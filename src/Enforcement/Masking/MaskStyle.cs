namespace Wire.Enforcement.Masking;

/// <summary>
/// How a value is masked. Every style keeps the length in bytes, writes only <c>*</c> and ASCII digits,
/// and replaces a multi-byte character whole. Values are ordered by strictness, least strict first, so
/// the strictest of several rules is the largest (<see cref="MaskStyles.Strictest"/>).
/// </summary>
public enum MaskStyle
{
    /// <summary>
    /// Everything but the last 4 characters becomes <c>*</c> (and never more than half the characters
    /// stay, so a short value is not left readable). Reveals a fragment of the real value.
    /// </summary>
    Partial = 0,

    /// <summary>
    /// An email address keeps its <c>@domain</c> and its local part becomes <c>*</c>; any other value is
    /// masked as <see cref="Full"/>. Reveals the organisation, not the person.
    /// </summary>
    Email = 1,

    /// <summary>
    /// Each ASCII digit becomes a digit derived from HMAC-SHA256(key, whole original value); the separators
    /// space, <c>-</c>, <c>.</c>, <c>/</c>, <c>(</c>, <c>)</c> and <c>+</c> stay; everything else becomes
    /// <c>*</c>. Reveals only the shape, and which masked values are equal (the same key and value give the
    /// same output, so joins and counts still work).
    /// </summary>
    Digits = 2,

    /// <summary>Every byte becomes <c>*</c>. Reveals only the length.</summary>
    Full = 3,
}
