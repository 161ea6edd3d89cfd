using Wire.Enforcement.Masking;
using static Wire.Enforcement.Tests.Masking.MaskingTestSupport;

namespace Wire.Enforcement.Tests.Masking;

public sealed class PhoneDetectorTests
{
    [Theory]
    [InlineData("+14155550100")]
    [InlineData("+1 415 555 0100")]
    [InlineData("+1-415-555-0100")]
    [InlineData("+1.415.555.0100")]
    [InlineData("+1 (415) 555-0100")]
    [InlineData("+44 20 7946 0958")]
    [InlineData("+44 (0)20 7946 0958")]
    [InlineData("+33 1 23 45 67 89")]
    [InlineData("+12345678")]
    [InlineData("+123456789012345")]
    [InlineData("(415) 555-0100")]
    [InlineData("(415)555-0100")]
    [InlineData("(415) 555.0100")]
    [InlineData("(415) 555 0100")]
    [InlineData("415-555-0100")]
    [InlineData("415.555.0100")]
    [InlineData("1-800-555-0100")]
    [InlineData("1.800.555.0100")]
    public void Finds_punctuated_and_international_numbers(string phone)
    {
        Assert.Equal([phone], Matches(phone, DetectorKinds.Phone));
        Assert.Equal([phone], Matches($"call {phone} now", DetectorKinds.Phone));
    }

    [Theory]
    [InlineData("4155550100")]
    [InlineData("14155550100")]
    [InlineData("415 555 0100")]
    [InlineData("+1234567")]
    [InlineData("+1234567890123456")]
    [InlineData("+0123456789")]
    [InlineData("+ 14155550100")]
    [InlineData("x+14155550100")]
    [InlineData("3+14155550100")]
    [InlineData("+14155550100x")]
    [InlineData("123-456-7890")]
    [InlineData("415-155-0100")]
    [InlineData("415-555.0100")]
    [InlineData("415-555-01000")]
    [InlineData("415-555-0100-1")]
    [InlineData("2024-415-555-0100")]
    [InlineData("(415 555-0100")]
    [InlineData("(115) 555-0100")]
    [InlineData("at 10:30:00+01:00")]
    public void Ignores_bare_runs_and_near_misses(string text) => Assert.Empty(Matches(text, DetectorKinds.Phone));

    [Theory]
    [InlineData("+1 415 555 0100 ext. 12", "+1 415 555 0100")]
    [InlineData("+1 415 555 0100 12 items", "+1 415 555 0100 12")]
    [InlineData("+1 415 555 0100 1234 5678", "+1 415 555 0100 1234")]
    [InlineData("tel:+14155550100;", "+14155550100")]
    public void Takes_the_longest_grouping_of_at_most_15_digits(string text, string phone)
        => Assert.Equal([phone], Matches(text, DetectorKinds.Phone));
}
