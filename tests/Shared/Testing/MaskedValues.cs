namespace Wire.Testing;

/// <summary>
/// The values the masked-value tests put where a mask rule must hide them, one for each detector: an SSN (<c>ssn</c>), an
/// email (<c>email</c>) and a Luhn-valid card number (<c>card</c>).
/// </summary>
internal static class MaskedValues
{
    public const string Ssn = "512-34-9876";
    public const string Email = "mallory.pii@example.net";
    public const string Card = "4539 1488 0343 6467";

    /// <summary>The values as secrets, with the card number's digits alone as a fourth.</summary>
    public static Secret[] Secrets() =>
        [
            new("the SSN", Ssn), new("the email", Email), new("the card number", Card),
            new("the card's digits", Card.Replace(" ", "", StringComparison.Ordinal)),
        ];

    /// <summary>A value as a mask leaves it: an asterisk for each character.</summary>
    public static string Stars(string value) => new('*', value.Length);
}
