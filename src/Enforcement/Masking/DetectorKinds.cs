namespace Wire.Enforcement.Masking;

/// <summary>
/// The content detectors a <see cref="ContentScanner"/> runs. Config names are given by
/// <see cref="DetectorNames"/>; docs/detectors.md defines what each one matches, with test vectors.
/// </summary>
[Flags]
public enum DetectorKinds
{
    /// <summary>No detector.</summary>
    None = 0,

    /// <summary>Payment card numbers: 13-19 digits, optionally grouped, Luhn-valid (<c>card</c>).</summary>
    Card = 1 << 0,

    /// <summary>US social security numbers <c>ddd-dd-dddd</c> with valid area, group and serial (<c>ssn</c>).</summary>
    Ssn = 1 << 1,

    /// <summary>Email addresses, a practical subset of RFC 5322 (<c>email</c>).</summary>
    Email = 1 << 2,

    /// <summary>Phone numbers: E.164 after a <c>+</c>, or punctuated NANP (<c>phone</c>).</summary>
    Phone = 1 << 3,

    /// <summary>International bank account numbers with a valid mod-97 check (<c>iban</c>).</summary>
    Iban = 1 << 4,

    /// <summary>AWS access key ids, <c>AKIA</c>/<c>ASIA</c> and 16 more characters (<c>aws-key</c>).</summary>
    AwsKey = 1 << 5,

    /// <summary>JSON web tokens: three base64url segments, the header starting <c>eyJ</c> (<c>jwt</c>).</summary>
    Jwt = 1 << 6,

    /// <summary>PEM private-key blocks from the BEGIN line through the matching END line (<c>pem</c>).</summary>
    Pem = 1 << 7,

    /// <summary>Every detector.</summary>
    All = Card | Ssn | Email | Phone | Iban | AwsKey | Jwt | Pem,
}
