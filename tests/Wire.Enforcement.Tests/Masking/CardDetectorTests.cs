using Wire.Enforcement.Masking;
using static Wire.Enforcement.Tests.Masking.MaskingTestSupport;

namespace Wire.Enforcement.Tests.Masking;

public sealed class CardDetectorTests
{
    [Theory]
    [InlineData("4111111111111111")]
    [InlineData("4111 1111 1111 1111")]
    [InlineData("4111-1111-1111-1111")]
    [InlineData("5555555555554444")]
    [InlineData("6011111111111117")]
    [InlineData("378282246310005")]
    [InlineData("3782 822463 10005")]
    [InlineData("3782-822463-10005")]
    [InlineData("30569309025904")]
    [InlineData("3056 930902 5904")]
    [InlineData("4222222222222")]
    [InlineData("4222 2222 2222 2")]
    [InlineData("4111111111111111110")]
    [InlineData("4111 1111 1111 1111 110")]
    public void Finds_valid_numbers_alone_and_in_text(string card)
    {
        Assert.Equal([card], Matches(card, DetectorKinds.Card));
        Assert.Equal([card], Matches($"paid with {card}, thanks", DetectorKinds.Card));
    }

    [Theory]
    [InlineData("4111111111111112")]
    [InlineData("4111 1111 1111 1112")]
    [InlineData("0000 0000 0000 0000")]
    [InlineData("0000000000000")]
    [InlineData("411111111111")]
    [InlineData("41111111111111111111")]
    [InlineData("14111111111111111")]
    [InlineData("4111-1111-1111-1111-2222")]
    [InlineData("4111  1111 1111 1111")]
    [InlineData("4111 1111-1111 1111")]
    [InlineData("4111 11111111 1111")]
    [InlineData("411 1111 1111 11111")]
    public void Ignores_near_misses(string text) => Assert.Empty(Matches(text, DetectorKinds.Card));

    [Theory]
    [InlineData("x4111111111111111")]
    [InlineData("4111111111111111x")]
    [InlineData("_4111111111111111")]
    [InlineData("4111111111111111_")]
    [InlineData("3.4111111111111111")]
    [InlineData("4111111111111111.5")]
    [InlineData("12/4111111111111111")]
    [InlineData("10:4111111111111111")]
    [InlineData("2024-4111-1111-1111-1111")]
    [InlineData("order4111 1111 1111 1111")]
    public void Respects_word_and_number_boundaries(string text) => Assert.Empty(Matches(text, DetectorKinds.Card));

    [Theory]
    [InlineData("card:4111111111111111;", "4111111111111111")]
    [InlineData("(4111111111111111)", "4111111111111111")]
    [InlineData("\"4111111111111111\"", "4111111111111111")]
    [InlineData("4111111111111111\t12/25", "4111111111111111")]
    [InlineData("4111 1111 1111 1111 12/25 123", "4111 1111 1111 1111")]
    [InlineData("4111 1111 1111 1111.", "4111 1111 1111 1111")]
    [InlineData("4111 1111 1111 1111 2222", "4111 1111 1111 1111")]
    [InlineData("9 4111111111111111", "4111111111111111")]
    [InlineData("4111111111111111, 9", "4111111111111111")]
    public void Takes_the_longest_valid_grouping(string text, string card)
        => Assert.Equal([card], Matches(text, DetectorKinds.Card));

    [Fact]
    public void Luhn_check_matches_the_standard_examples()
    {
        Assert.True(CardDetector.Luhn("79927398713"u8, 0, 11));
        Assert.False(CardDetector.Luhn("79927398710"u8, 0, 11));
        Assert.True(CardDetector.Luhn("4111-1111-1111-1111"u8, 0, 19));
    }
}
