using System.Text;
using Wire.Enforcement.Masking;
using static Wire.Enforcement.Tests.Masking.MaskingTestSupport;

namespace Wire.Enforcement.Tests.Masking;

public sealed class ContentScannerTests
{
    /// <summary>One value per detector, as it is matched.</summary>
    public static readonly (DetectorKinds Kind, string Value)[] Samples =
    [
        (DetectorKinds.Card, "4111 1111 1111 1111"),
        (DetectorKinds.Card, "378282246310005"),
        (DetectorKinds.Ssn, "123-45-6789"),
        (DetectorKinds.Email, "alice.smith@example.com"),
        (DetectorKinds.Phone, "(415) 555-0100"),
        (DetectorKinds.Phone, "+44 20 7946 0958"),
        (DetectorKinds.Phone, "1-800-555-0100"),
        (DetectorKinds.Iban, "DE89 3704 0044 0532 0130 00"),
        (DetectorKinds.Iban, "NL91ABNA0417164300"),
        (DetectorKinds.AwsKey, "AKIAIOSFODNN7EXAMPLE"),
        (DetectorKinds.Jwt, JwtDetectorTests.Token),
        (DetectorKinds.Pem, "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oZcyQfQ2VZ9Y\n-----END EC PRIVATE KEY-----"),
    ];

    public static TheoryData<int> SampleIndexes()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < Samples.Length; i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(SampleIndexes))]
    public void Finds_each_sample_at_every_offset_across_block_edges(int index)
    {
        var (kind, value) = Samples[index];
        for (int before = 0; before <= 140; before++)
        {
            foreach (string after in new[] { "", " ", " end of line\n" + new string(' ', 100) })
            {
                string text = new string(' ', before) + value + after;
                var hits = Find(text);
                Assert.True(hits.Length == 1, $"{hits.Length} hits with {before} bytes before and {after.Length} after");
                Assert.Equal(new DetectorHit(before, value.Length, kind), hits[0]);
            }
        }
    }

    [Fact]
    public void Finds_several_hits_in_order_with_their_kinds()
    {
        var text = new StringBuilder("start ");
        foreach (var (_, value) in Samples)
        {
            text.Append(value).Append(" | ");
        }

        var hits = Find(text.ToString());
        Assert.Equal(Samples.Select(s => s.Kind), hits.Select(h => h.Kinds));
        Assert.Equal(Samples.Select(s => s.Value), hits.Select(h => text.ToString(h.Start, h.Length)));
    }

    [Fact]
    public void Masks_hits_at_the_very_start_and_end()
    {
        Assert.Equal("*********** and ***********", Mask("123-45-6789 and 123-45-6789"));
        Assert.Equal("*******************", Mask("4111 1111 1111 1111"));
    }

    [Fact]
    public void Only_enabled_detectors_run()
    {
        const string text = "4111111111111111 123-45-6789 bob@example.com AKIAIOSFODNN7EXAMPLE";
        Assert.Equal(["4111111111111111"], Matches(text, DetectorKinds.Card));
        Assert.Equal(["123-45-6789", "bob@example.com"], Matches(text, DetectorKinds.Ssn | DetectorKinds.Email));
        Assert.Empty(Matches(text, DetectorKinds.None));
        Assert.Equal(text, Mask(text, DetectorKinds.None));
    }

    [Fact]
    public void Overlapping_matches_are_merged_and_masked_as_one_range()
    {
        const string text = "x 4111111111111111.bob@example.com y";
        var hits = Find(text);
        Assert.Equal([new DetectorHit(2, 32, DetectorKinds.Card | DetectorKinds.Email)], hits);
        Assert.Equal("x ********************@example.com y", Mask(text, style: MaskStyle.Email));
        Assert.Equal("x ******************************** y", Mask(text));
    }

    [Fact]
    public void Multi_byte_text_around_hits_is_untouched()
    {
        const string text = "Zahlung für Jürgen ✓ 4111 1111 1111 1111 — 電話 (415) 555-0100。メール ユーザー bob@example.com 🚀";
        const string masked = "Zahlung für Jürgen ✓ ******************* — 電話 ************** メール ユーザー *************** 🚀";
        Assert.Equal(masked.Replace("************** メ", "**************。メ", StringComparison.Ordinal), Mask(text));
        byte[] before = Encoding.UTF8.GetBytes(text);
        foreach (var style in Enum.GetValues<MaskStyle>())
        {
            byte[] after = (byte[])before.Clone();
            var hits = new DetectorHit[8];
            int count = new ContentScanner(DetectorKinds.All, style, DocsKey).MaskInPlace(after, hits);
            Assert.Equal(3, count);
            AssertMaskInvariants(before, after, hits.AsSpan(0, count));
        }
    }

    [Fact]
    public void Multi_byte_characters_are_boundaries()
    {
        Assert.Equal(["(415) 555-0100"], Matches("電話(415) 555-0100"));
        Assert.Equal(["4111111111111111"], Matches("番号4111111111111111です"));
        Assert.Equal(["bob@example.com"], Matches("ü bob@example.comü"));
    }

    [Fact]
    public void A_slice_is_scanned_as_it_stands_and_nothing_outside_it_changes()
    {
        byte[] buffer = Encoding.UTF8.GetBytes("x4111111111111111x|123-45-6789");
        var scanner = new ContentScanner(DetectorKinds.All, MaskStyle.Full);

        // Inside the whole buffer the card touches letters; cut out, its edges are the slice's edges.
        Assert.Equal(1, scanner.FindHits(buffer, default));
        Assert.Equal(1, scanner.MaskInPlace(buffer.AsSpan(1, 16)));
        Assert.Equal("x****************x|123-45-6789", Encoding.UTF8.GetString(buffer));
        Assert.Equal(0, scanner.MaskInPlace(buffer.AsSpan(19, 10)));
        Assert.Equal("x****************x|123-45-6789", Encoding.UTF8.GetString(buffer));
    }

    [Fact]
    public void Every_slice_of_a_mixed_text_masks_within_itself()
    {
        // Slices cut matches, BEGIN lines and multi-byte characters anywhere; the slice's edges are the text's.
        byte[] text = Encoding.UTF8.GetBytes(
            "ü ---BEGIN PRIVATE KEY-- 4111 1111 1111 1111 -----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY----- a@b.cc 電話 +44 20 7946 0958");
        foreach (var style in Enum.GetValues<MaskStyle>())
        {
            var scanner = new ContentScanner(DetectorKinds.All, style, DocsKey);
            for (int start = 0; start < text.Length; start += 3)
            {
                for (int length = 0; start + length <= text.Length; length += 5)
                {
                    byte[] copy = (byte[])text.Clone();
                    var hits = new DetectorHit[16];
                    int count = scanner.MaskInPlace(copy.AsSpan(start, length), hits);
                    var shifted = hits.AsSpan(0, count).ToArray().Select(h => h with { Start = h.Start + start }).ToArray();
                    AssertMaskInvariants(text, copy, shifted);
                }
            }
        }
    }

    [Fact]
    public void Empty_input_has_no_hits()
    {
        var scanner = new ContentScanner(DetectorKinds.All, MaskStyle.Digits, DocsKey);
        Assert.Equal(0, scanner.MaskInPlace(Span<byte>.Empty));
        Assert.Equal(0, scanner.MaskInPlace(Span<byte>.Empty, new DetectorHit[4]));
        Assert.Equal(0, scanner.FindHits(ReadOnlySpan<byte>.Empty, default));
    }

    [Fact]
    public void Reports_as_many_ranges_as_fit_and_counts_them_all()
    {
        byte[] text = Encoding.UTF8.GetBytes(string.Join(" ", Enumerable.Repeat("123-45-6789", 10)));
        var hits = new DetectorHit[3];
        int count = new ContentScanner(DetectorKinds.All, MaskStyle.Full).MaskInPlace(text, hits);
        Assert.Equal(10, count);
        Assert.Equal([new DetectorHit(0, 11, DetectorKinds.Ssn), new DetectorHit(12, 11, DetectorKinds.Ssn), new DetectorHit(24, 11, DetectorKinds.Ssn)], hits);
        Assert.DoesNotContain((byte)'1', text);
    }

    [Fact]
    public void Finding_changes_nothing()
    {
        byte[] text = Encoding.UTF8.GetBytes("ssn 123-45-6789");
        Assert.Equal(1, new ContentScanner(DetectorKinds.All, MaskStyle.Full).FindHits(text, default));
        Assert.Equal("ssn 123-45-6789", Encoding.UTF8.GetString(text));
    }

    [Fact]
    public void Many_hits_close_together_are_all_masked()
    {
        string text = string.Concat(Enumerable.Repeat("a@b.cc ", 200));
        var hits = Find(text);
        Assert.Equal(200, hits.Length);
        Assert.Equal(string.Concat(Enumerable.Repeat("****** ", 200)), Mask(text));
    }

    [Fact]
    public void A_long_private_key_is_one_range_and_nothing_inside_is_looked_at()
    {
        // Base64 that happens to hold an AWS key id, a card number, an SSN and a JWT-looking header.
        string body = string.Concat(Enumerable.Repeat("AKIAIOSFODNN7EXAMPLE+4111111111111111/123-45-6789=eyJhbGciOiJIUzI1NiJ9\n", 200));
        string text = $"k -----BEGIN PRIVATE KEY-----\n{body}-----END PRIVATE KEY----- 123-45-6789";
        var hits = Find(text);
        Assert.Equal(2, hits.Length);
        Assert.Equal(DetectorKinds.Pem, hits[0].Kinds);
        Assert.Equal(text.Length - " 123-45-6789".Length, hits[0].End);
        Assert.Equal(DetectorKinds.Ssn, hits[1].Kinds);
    }

    [Fact]
    public void Matches_what_the_detectors_find_at_every_position()
    {
        // Random texts built from samples, near misses and filler: every match the detectors make at any
        // position is covered by the scanner's ranges, and every range is made of such matches.
        string[] fragments =
        [
            .. Samples.Select(s => s.Value), "4111111111111112", "000-12-3456", "4155550100", "DE88 3704 0044 0532 0130 00",
            "AKIAIOSFODNN7EXAMPL", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0", "2026-11-22T10:15:32Z", "12:30", "3.14159", "id=48213",
            " ", " ", ", ", "-", ".", "\n", "(", ")", "+", "@", "x", "ü", "電", "Ab", "1", "22", "333", "4444", "55555",
            "+1", "415", "555-0100", "bob", "example.com", "GB82", " WEST", "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----",
        ];
        var random = new Random(7);
        for (int round = 0; round < 3000; round++)
        {
            var text = new StringBuilder();
            int parts = random.Next(1, 12);
            for (int i = 0; i < parts; i++)
            {
                text.Append(fragments[random.Next(fragments.Length)]);
            }

            byte[] bytes = Encoding.UTF8.GetBytes(text.ToString());
            var covered = new bool[bytes.Length];
            var hits = Find(bytes);
            foreach (var hit in hits)
            {
                Array.Fill(covered, true, hit.Start, hit.Length);
            }

            var reference = ReferenceScanner.AllMatches(bytes, DetectorKinds.All);
            var inReference = new bool[bytes.Length];
            foreach (var (start, end, kind) in reference)
            {
                Array.Fill(inReference, true, start, end - start);
                Assert.True(covered.AsSpan(start, end - start).Contains(true), $"missed {kind} at {start} in \"{text}\"");
            }

            for (int i = 0; i < bytes.Length; i++)
            {
                Assert.True(!covered[i] || inReference[i], $"byte {i} masked without a match in \"{text}\"");
            }
        }
    }

    [Fact]
    public void Rejects_unknown_detector_bits()
        => Assert.Throws<ArgumentOutOfRangeException>(() => new ContentScanner((DetectorKinds)(1 << 12), MaskStyle.Full));

    [Fact]
    public void Is_shared_safely_between_threads()
    {
        var scanner = new ContentScanner(DetectorKinds.All, MaskStyle.Digits, DocsKey);
        string text = string.Join(" ", Samples.Select(s => s.Value));
        byte[] expected = Encoding.UTF8.GetBytes(text);
        scanner.MaskInPlace(expected);
        Parallel.For(0, 200, _ =>
        {
            byte[] bytes = Encoding.UTF8.GetBytes(text);
            Assert.Equal(Samples.Length, scanner.MaskInPlace(bytes));
            Assert.Equal(expected, bytes);
        });
    }
}
