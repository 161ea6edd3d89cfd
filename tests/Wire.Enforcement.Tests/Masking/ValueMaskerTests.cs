using System.Text;
using Wire.Enforcement.Masking;
using static Wire.Enforcement.Tests.Masking.MaskingTestSupport;

namespace Wire.Enforcement.Tests.Masking;

public sealed class ValueMaskerTests
{
    [Theory]
    [InlineData("", "")]
    [InlineData("abc", "***")]
    [InlineData("123-45-6789", "***********")]
    [InlineData("ü", "**")]
    [InlineData("a\tb\"c'd\\e\r\n", "***********")]
    public void Full_masks_every_byte(string value, string expected) => Assert.Equal(expected, MaskValue(value, MaskStyle.Full));

    [Theory]
    [InlineData("4111111111111111", "************1111")]
    [InlineData("123-45-6789", "*******6789")]
    [InlineData("12345678", "****5678")]
    [InlineData("1234567", "****567")]
    [InlineData("1234", "**34")]
    [InlineData("ab", "*b")]
    [InlineData("a", "*")]
    [InlineData("", "")]
    [InlineData("Jürgen Müller", "***********ller")]
    [InlineData("日本語テキスト", "************キスト")]
    [InlineData("rendez-vous à Noël", "***************Noël")]
    public void Partial_keeps_the_last_four_characters_but_never_more_than_half(string value, string expected)
        => Assert.Equal(expected, MaskValue(value, MaskStyle.Partial));

    [Theory]
    [InlineData("alice@example.com", "*****@example.com")]
    [InlineData("first.last+tag@sub.example.co.uk", "**************@sub.example.co.uk")]
    [InlineData("bob@localhost", "*************")]
    [InlineData("not an email", "************")]
    [InlineData("bob@example.com ", "****************")]
    [InlineData("", "")]
    public void Email_keeps_the_domain_of_an_address_and_masks_anything_else_fully(string value, string expected)
        => Assert.Equal(expected, MaskValue(value, MaskStyle.Email));

    [Fact]
    public void Digits_replaces_digits_keeps_separators_and_stars_the_rest()
    {
        string masked = MaskValue("(415) 555-0100 ext. 7, +1/2 ü", MaskStyle.Digits);
        Assert.Equal("(415) 555-0100 ext. 7, +1/2 ü".Length + 1, Encoding.UTF8.GetByteCount(masked));
        for (int i = 0; i < masked.Length; i++)
        {
            char original = "(415) 555-0100 ext. 7, +1/2 **"[i];
            char now = masked[i];
            if (char.IsAsciiDigit(original))
            {
                Assert.True(char.IsAsciiDigit(now));
            }
            else if (original is ' ' or '-' or '.' or '/' or '(' or ')' or '+')
            {
                Assert.Equal(original, now);
            }
            else
            {
                Assert.Equal('*', now);
            }
        }

        Assert.NotEqual("(415) 555-0100", masked[..14]);
    }

    [Fact]
    public void Digits_is_deterministic_per_key_and_value()
    {
        byte[] otherKey = "another-key-of-at-least-16-bytes"u8.ToArray();
        string once = MaskValue("4111 1111 1111 1111", MaskStyle.Digits);
        Assert.Equal(once, MaskValue("4111 1111 1111 1111", MaskStyle.Digits));
        Assert.Equal(once, MaskValue("4111 1111 1111 1111", MaskStyle.Digits, DocsKey.ToArray()));
        Assert.NotEqual(once, MaskValue("4111 1111 1111 1111", MaskStyle.Digits, otherKey));
        Assert.NotEqual(once, MaskValue("4111 1111 1111 1112", MaskStyle.Digits));

        // The whole value keys the digits: the same digits in another value come out differently.
        Assert.NotEqual(once, MaskValue("4111-1111-1111-1111", MaskStyle.Digits).Replace('-', ' '));
    }

    [Fact]
    public void Digits_covers_values_longer_than_one_hash_block()
    {
        string value = string.Concat(Enumerable.Repeat("0123456789", 100));
        string masked = MaskValue(value, MaskStyle.Digits);
        Assert.Equal(masked, MaskValue(value, MaskStyle.Digits));
        Assert.All(masked, c => Assert.True(char.IsAsciiDigit(c)));

        // Roughly uniform, and not one block repeated.
        foreach (char digit in "0123456789")
        {
            Assert.InRange(masked.Count(c => c == digit), 60, 140);
        }

        Assert.NotEqual(masked[..32], masked[32..64]);
    }

    [Fact]
    public void Digits_needs_a_key_and_the_other_styles_do_not()
    {
        Assert.Throws<ArgumentException>(() => new ValueMasker(MaskStyle.Digits));
        Assert.Throws<ArgumentException>(() => new ValueMasker(MaskStyle.Digits, new byte[ValueMasker.MinKeyLength - 1]));
        Assert.Throws<ArgumentException>(() => new ContentScanner(DetectorKinds.All, MaskStyle.Digits));
        _ = new ValueMasker(MaskStyle.Digits, new byte[ValueMasker.MinKeyLength]);
        _ = new ValueMasker(MaskStyle.Full);
        _ = new ValueMasker(MaskStyle.Partial);
        _ = new ValueMasker(MaskStyle.Email);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ValueMasker((MaskStyle)7));
    }

    [Fact]
    public void Every_style_keeps_length_writes_only_stars_and_digits_and_keeps_utf8_valid()
    {
        var random = new Random(11);
        string[] pieces = ["a", "Z", "0", "9", " ", "-", ".", "@", "\t", "\r", "\n", "\"", "'", "\\", "ü", "€", "𝄞", "example.com", "+"];
        foreach (var style in Enum.GetValues<MaskStyle>())
        {
            var masker = new ValueMasker(style, DocsKey);
            for (int round = 0; round < 500; round++)
            {
                var value = new StringBuilder();
                for (int i = random.Next(0, 20); i > 0; i--)
                {
                    value.Append(pieces[random.Next(pieces.Length)]);
                }

                byte[] before = Encoding.UTF8.GetBytes(value.ToString());
                byte[] after = (byte[])before.Clone();
                masker.Mask(after);
                AssertMaskInvariants(before, after, [new DetectorHit(0, before.Length, DetectorKinds.None)]);
            }

            // Invalid UTF-8 is masked without throwing, and no byte becomes anything but * or a digit.
            byte[] invalid = [0xFF, 0x80, (byte)'a', 0xC3, 0xE2, 0x82, (byte)'1', 0xF0, 0x9D];
            byte[] masked = (byte[])invalid.Clone();
            masker.Mask(masked);
            AssertMaskInvariants(invalid, masked, [new DetectorHit(0, invalid.Length, DetectorKinds.None)]);
        }
    }

    [Fact]
    public void Masks_only_the_span_it_is_given()
    {
        byte[] buffer = Encoding.UTF8.GetBytes("[alice@example.com]");
        foreach (var style in Enum.GetValues<MaskStyle>())
        {
            byte[] copy = (byte[])buffer.Clone();
            new ValueMasker(style, DocsKey).Mask(copy.AsSpan(1, copy.Length - 2));
            Assert.Equal((byte)'[', copy[0]);
            Assert.Equal((byte)']', copy[^1]);
        }
    }
}
