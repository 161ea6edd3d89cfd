using System.Text;
using System.Text.Unicode;
using Wire.Enforcement.Masking;

namespace Wire.Enforcement.Tests.Masking;

/// <summary>Runs the scanner and the maskers on strings, for readable test cases.</summary>
internal static class MaskingTestSupport
{
    /// <summary>The digits key docs/detectors.md's vectors are computed with.</summary>
    public static readonly byte[] DocsKey = "wire-detectors-doc-key-0123456789"u8.ToArray();

    public static string Mask(string text, DetectorKinds detectors = DetectorKinds.All, MaskStyle style = MaskStyle.Full)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        new ContentScanner(detectors, style, DocsKey).MaskInPlace(bytes);
        return Encoding.UTF8.GetString(bytes);
    }

    public static DetectorHit[] Find(string text, DetectorKinds detectors = DetectorKinds.All)
        => Find(Encoding.UTF8.GetBytes(text), detectors);

    public static DetectorHit[] Find(byte[] text, DetectorKinds detectors = DetectorKinds.All)
    {
        var scanner = new ContentScanner(detectors, MaskStyle.Full);
        var hits = new DetectorHit[Math.Max(16, text.Length)];
        int count = scanner.FindHits(text, hits);
        return hits[..count];
    }

    /// <summary>The text of each range found, for asserting exactly what matched.</summary>
    public static string[] Matches(string text, DetectorKinds detectors = DetectorKinds.All)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        return [.. Find(bytes, detectors).Select(h => Encoding.UTF8.GetString(bytes, h.Start, h.Length))];
    }

    public static string MaskValue(string value, MaskStyle style, byte[]? key = null)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        new ValueMasker(style, key ?? DocsKey).Mask(bytes);
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>
    /// Checks the invariants every style promises on one masking: same length, bytes outside
    /// <paramref name="hits"/> untouched, only <c>*</c> and digits written inside, valid UTF-8 stays valid.
    /// </summary>
    public static void AssertMaskInvariants(byte[] before, byte[] after, ReadOnlySpan<DetectorHit> hits)
    {
        Assert.Equal(before.Length, after.Length);
        var inside = new bool[before.Length];
        foreach (var hit in hits)
        {
            Array.Fill(inside, true, hit.Start, hit.Length);
        }

        for (int i = 0; i < before.Length; i++)
        {
            if (before[i] == after[i])
            {
                continue;
            }

            Assert.True(inside[i], $"byte {i} outside every reported range changed");
            Assert.True(after[i] == '*' || char.IsAsciiDigit((char)after[i]), $"byte {i} became 0x{after[i]:X2}");
        }

        if (Utf8.IsValid(before))
        {
            Assert.True(Utf8.IsValid(after), "valid UTF-8 became invalid");
        }
    }
}
