using System.Text;
using System.Text.Unicode;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Wire.Enforcement.Masking;
using Wire.Fuzz.Targets;

namespace Wire.Fuzz;

/// <summary>Text built from detector matches, near misses, separators and stray bytes, so properties meet real hits.</summary>
public sealed record MaskingText(byte[] Bytes)
{
    public override string ToString() => $"{Bytes.Length} bytes: {SegmentedBytes.Preview(Bytes)}";
}

/// <summary>Generators for the masking properties.</summary>
public static class MaskingArbitraries
{
    private static readonly string[] _fragments =
    [
        "4111 1111 1111 1111", "4111111111111111", "378282246310005", "4111111111111112", "123-45-6789", "000-12-3456",
        "alice@example.com", "a@b.cc", "(415) 555-0100", "415-555-0100", "+44 20 7946 0958", "+1", "4155550100",
        "DE89 3704 0044 0532 0130 00", "NL91ABNA0417164300", "AKIAIOSFODNN7EXAMPLE", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln",
        "-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBg\n-----END PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY-----", "-----END ",
        "2026-11-22T10:15:32Z", "3.14", "12:30", "1", "22", "4444", "55555", "eyJ", "AKIA", "@", "+", "(", ")", "-", ".", "/", ":",
        " ", " ", ",", "\t", "\n", "\r\n", "\"", "'", "\\", "\\n", "x", "Ab", "_", "ü", "€", "電話", "🚀",
    ];

    public static Arbitrary<MaskingText> MaskingTexts()
    {
        var fragment = Gen.Frequency(
            (12, Gen.Elements(_fragments).Select(Encoding.UTF8.GetBytes)),
            (1, Gen.ArrayOf(Gen.Choose(0, 255).Select(i => (byte)i), 3)));
        return (from count in Gen.Choose(0, 24)
                from parts in Gen.ArrayOf(fragment, count)
                select new MaskingText(SeedCorpus.Concat(parts))).ToArbitrary();
    }
}

/// <summary>
/// Masking, whatever the input: the length is kept, no byte outside the reported ranges changes, only
/// <c>*</c> and digits are written, valid UTF-8 stays valid, and nothing throws; in every style.
/// </summary>
public sealed class MaskingProperties
{
    private static readonly byte[] _key = "wire-fuzz-property-key-01234567"u8.ToArray();

    [Property(MaxTest = 500)]
    public void Scanning_any_bytes_keeps_the_invariants_in_every_style(byte[] input)
    {
        foreach (var scanner in DetectorsFuzzTarget.Scanners)
        {
            DetectorsFuzzTarget.CheckMasking(scanner, input);
        }
    }

    [Property(MaxTest = 1000, Arbitrary = [typeof(MaskingArbitraries)])]
    public void Scanning_text_with_matches_keeps_the_invariants_in_every_style(MaskingText input)
    {
        foreach (var scanner in DetectorsFuzzTarget.Scanners)
        {
            DetectorsFuzzTarget.CheckMasking(scanner, input.Bytes);
        }
    }

    [Property(MaxTest = 300, Arbitrary = [typeof(MaskingArbitraries)])]
    public void Each_detector_alone_finds_a_subset_of_all_of_them(MaskingText input)
    {
        var all = new DetectorHit[input.Bytes.Length + 1];
        int count = new ContentScanner(DetectorKinds.All, MaskStyle.Full).FindHits(input.Bytes, all);
        var covered = new bool[input.Bytes.Length];
        foreach (var hit in all.AsSpan(0, count))
        {
            Array.Fill(covered, true, hit.Start, hit.Length);
        }

        foreach (var kind in Enum.GetValues<DetectorKinds>().Where(k => k is not DetectorKinds.None and not DetectorKinds.All))
        {
            var alone = new DetectorHit[input.Bytes.Length + 1];
            int found = new ContentScanner(kind, MaskStyle.Full).FindHits(input.Bytes, alone);
            foreach (var hit in alone.AsSpan(0, found))
            {
                Assert.Equal(kind, hit.Kinds);

                // Alone, a detector may see a match that all of them together skip inside another's range;
                // either way its bytes are masked when all run.
                Assert.True(covered.AsSpan(hit.Start, hit.Length).Contains(true), $"{kind} at {hit.Start} is not covered when all detectors run");
            }
        }
    }

    [Property(MaxTest = 500)]
    public void Masking_whole_values_keeps_the_invariants_in_every_style(byte[] value)
    {
        foreach (var style in Enum.GetValues<MaskStyle>())
        {
            byte[] masked = (byte[])value.Clone();
            new ValueMasker(style, _key).Mask(masked);
            DetectorsFuzzTarget.CheckMasked(value, masked, value.Length == 0 ? [] : [new DetectorHit(0, value.Length, DetectorKinds.Card)], style);
        }
    }

    [Property(MaxTest = 300)]
    public void Digits_depend_only_on_key_and_value(byte[] value)
    {
        byte[] once = (byte[])value.Clone();
        byte[] twice = (byte[])value.Clone();
        new ValueMasker(MaskStyle.Digits, _key).Mask(once);
        new ValueMasker(MaskStyle.Digits, _key.ToArray()).Mask(twice);
        Assert.Equal(once, twice);
    }

    [Property(MaxTest = 300, Arbitrary = [typeof(MaskingArbitraries)])]
    public void Valid_utf8_text_stays_valid_after_masking(MaskingText input)
    {
        if (!Utf8.IsValid(input.Bytes))
        {
            return;
        }

        foreach (var scanner in DetectorsFuzzTarget.Scanners)
        {
            byte[] masked = (byte[])input.Bytes.Clone();
            scanner.MaskInPlace(masked);
            Assert.True(Utf8.IsValid(masked));
        }
    }

    [Property(MaxTest = 300, Arbitrary = [typeof(MaskingArbitraries)])]
    public void Detectors_target_accepts_or_rejects_without_findings(MaskingText input)
        => FuzzTargets.RunAcceptingViolations(FuzzTargets.Get("detectors"), input.Bytes);
}
