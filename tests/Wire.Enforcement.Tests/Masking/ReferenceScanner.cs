using Wire.Enforcement.Masking;

namespace Wire.Enforcement.Tests.Masking;

/// <summary>
/// The detectors tried at every position, with no pre-filter: what the scanner's triggers must not miss.
/// Slow and simple on purpose.
/// </summary>
internal static class ReferenceScanner
{
    public static List<(int Start, int End, DetectorKinds Kind)> AllMatches(ReadOnlySpan<byte> text, DetectorKinds detectors)
    {
        var found = new List<(int, int, DetectorKinds)>();
        for (int i = 0; i < text.Length; i++)
        {
            byte b = text[i];
            if ((ByteClass.IsDigit(b) || b == '(') && ByteClass.IsNumberStart(text, i))
            {
                if (b != '(' && detectors.HasFlag(DetectorKinds.Card))
                {
                    Add(found, i, CardDetector.Match(text, i), DetectorKinds.Card);
                }

                if (b != '(' && detectors.HasFlag(DetectorKinds.Ssn))
                {
                    Add(found, i, SsnDetector.Match(text, i), DetectorKinds.Ssn);
                }

                if (detectors.HasFlag(DetectorKinds.Phone))
                {
                    Add(found, i, PhoneDetector.MatchNanp(text, i), DetectorKinds.Phone);
                }
            }

            if (b == '+' && detectors.HasFlag(DetectorKinds.Phone))
            {
                Add(found, i, PhoneDetector.MatchPlus(text, i), DetectorKinds.Phone);
            }

            if (b == '@' && detectors.HasFlag(DetectorKinds.Email) && EmailDetector.TryMatch(text, i, out int start, out int end))
            {
                found.Add((start, end, DetectorKinds.Email));
            }

            if (i + 3 < text.Length && ByteClass.IsUpper(b) && ByteClass.IsUpper(text[i + 1]) && ByteClass.IsDigit(text[i + 2])
                && ByteClass.IsDigit(text[i + 3]) && detectors.HasFlag(DetectorKinds.Iban))
            {
                Add(found, i, IbanDetector.Match(text, i), DetectorKinds.Iban);
            }

            if (b == 'A' && detectors.HasFlag(DetectorKinds.AwsKey))
            {
                Add(found, i, AwsKeyDetector.Match(text, i), DetectorKinds.AwsKey);
            }

            if (ByteClass.HasAt(text, i, "eyJ"u8) && detectors.HasFlag(DetectorKinds.Jwt))
            {
                Add(found, i, JwtDetector.Match(text, i), DetectorKinds.Jwt);
            }

            if (ByteClass.HasAt(text, i, "-----BEGIN "u8) && detectors.HasFlag(DetectorKinds.Pem))
            {
                Add(found, i, PemDetector.Match(text, i), DetectorKinds.Pem);
            }
        }

        return found;
    }

    private static void Add(List<(int, int, DetectorKinds)> found, int start, int end, DetectorKinds kind)
    {
        if (end > start)
        {
            found.Add((start, end, kind));
        }
    }
}
