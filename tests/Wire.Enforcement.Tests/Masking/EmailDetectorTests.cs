using Wire.Enforcement.Masking;
using static Wire.Enforcement.Tests.Masking.MaskingTestSupport;

namespace Wire.Enforcement.Tests.Masking;

public sealed class EmailDetectorTests
{
    [Theory]
    [InlineData("alice@example.com")]
    [InlineData("first.last+tag@sub.example.co.uk")]
    [InlineData("a@b.cc")]
    [InlineData("o_brien-2%x@xn--bcher-kva.example")]
    [InlineData("UPPER@EXAMPLE.ORG")]
    [InlineData("4155550100@sms.example.net")]
    public void Finds_addresses(string address)
    {
        Assert.Equal([address], Matches(address, DetectorKinds.Email));
        Assert.Equal([address], Matches($"mail {address}, please", DetectorKinds.Email));
    }

    [Theory]
    [InlineData("'bob@example.com'", "bob@example.com")]
    [InlineData("\"bob@example.com\"", "bob@example.com")]
    [InlineData("<bob@example.com>", "bob@example.com")]
    [InlineData("mailto:bob@example.com", "bob@example.com")]
    [InlineData("write to bob@example.com.", "bob@example.com")]
    [InlineData("...bob@example.com", "bob@example.com")]
    [InlineData("https://user:secret@db.example.com/x", "secret@db.example.com")]
    [InlineData("bob@example.com,carol@example.org", "bob@example.com|carol@example.org")]
    public void Keeps_quotes_and_punctuation_out_of_the_match(string text, string expected)
        => Assert.Equal(expected.Split('|'), Matches(text, DetectorKinds.Email));

    [Theory]
    [InlineData("bob@localhost")]
    [InlineData("bob@example.c")]
    [InlineData("bob@example.c0m")]
    [InlineData("bob@10.0.0.1")]
    [InlineData("bob@-example.com")]
    [InlineData("bob@example-.com")]
    [InlineData("bob.@example.com")]
    [InlineData("bo..b@example.com")]
    [InlineData("@example.com")]
    [InlineData("bob@")]
    [InlineData("bob@.com")]
    [InlineData("bob@example..com")]
    [InlineData("bob@example.com_x")]
    [InlineData("bob@example.com@x")]
    [InlineData("SELECT '{1}'::int[] @> '{1}'")]
    public void Ignores_what_is_not_an_address(string text) => Assert.Empty(Matches(text, DetectorKinds.Email));

    [Fact]
    public void Local_part_is_at_most_64_bytes()
    {
        string local64 = new('a', 64);
        Assert.Equal([local64 + "@example.com"], Matches(local64 + "@example.com", DetectorKinds.Email));
        Assert.Empty(Matches(local64 + "a@example.com", DetectorKinds.Email));
    }

    [Fact]
    public void Labels_are_at_most_63_bytes()
    {
        string label63 = new('d', 63);
        Assert.Single(Matches($"x@{label63}.com", DetectorKinds.Email));
        Assert.Empty(Matches($"x@{label63}d.com", DetectorKinds.Email));
    }

    [Theory]
    [InlineData("bob@example.com", true)]
    [InlineData("bob@example.com ", false)]
    [InlineData(".bob@example.com", false)]
    [InlineData("bob", false)]
    [InlineData("", false)]
    public void A_whole_value_is_an_address_only_when_all_of_it_matches(string value, bool expected)
        => Assert.Equal(expected, EmailDetector.IsAddress(System.Text.Encoding.UTF8.GetBytes(value), out _));
}
