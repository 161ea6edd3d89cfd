namespace Wire.Enforcement.Masking;

/// <summary>The anchors the scanner's pre-filter marks, each computed only when a detector needs it.</summary>
[Flags]
internal enum TriggerKinds
{
    None = 0,

    /// <summary>Four digits in a row: every card, SSN and NANP number has such a run.</summary>
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
