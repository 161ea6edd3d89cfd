namespace Wire.Enforcement.Masking;

/// <summary>The anchors the scanner's pre-filter marks, each computed only when a detector needs it.</summary>
[Flags]
internal enum TriggerKinds
{
    None = 0,

    /// <summary>
    /// A digit run shaped like a card's first group (4 digits, a space or hyphen, 4 more), the last group
    /// of an SSN or NANP number (4 digits after a space, hyphen or dot), or an unbroken card (13+ digits).
    /// </summary>
    Digits = 1 << 0,

    /// <summary><c>+</c> before a digit: an E.164 number.</summary>
    Plus = 1 << 1,

    /// <summary><c>@</c>: an email address.</summary>
    At = 1 << 2,

    /// <summary>Two capitals and two digits: an IBAN's country code and check digits.</summary>
    Iban = 1 << 3,

    /// <summary><c>AKIA</c> or <c>ASIA</c>.</summary>
    AwsKey = 1 << 4,

    /// <summary><c>eyJ</c>: a JWT header.</summary>
    Jwt = 1 << 5,

    /// <summary><c>-BEG</c>: the end of <c>-----BEGIN</c>.</summary>
    Pem = 1 << 6,
}
