using Wire.Enforcement.Masking;
using static Wire.Enforcement.Tests.Masking.MaskingTestSupport;

namespace Wire.Enforcement.Tests.Masking;

public sealed class IbanDetectorTests
{
    [Theory]
    [InlineData("DE89 3704 0044 0532 0130 00")]
    [InlineData("DE89370400440532013000")]
    [InlineData("GB82 WEST 1234 5698 7654 32")]
    [InlineData("GB82WEST12345698765432")]
    [InlineData("FR14 2004 1010 0505 0001 3M02 606")]
    [InlineData("NL91ABNA0417164300")]
    [InlineData("BE68539007547034")]
    [InlineData("NO9386011117947")]
    [InlineData("CH9300762011623852957")]
    [InlineData("MT84MALT011000012345MTLCAST001S")]
    [InlineData("LC55HEMM000100010012001200023015")]
    public void Finds_valid_numbers(string iban)
    {
        Assert.Equal([iban], Matches(iban, DetectorKinds.Iban));
        Assert.Equal([iban], Matches($"IBAN: {iban}, BIC DEUTDEFF", DetectorKinds.Iban));
    }

    [Theory]
    [InlineData("DE88 3704 0044 0532 0130 00")]
    [InlineData("DE89 3704 0044 0532 0130 01")]
    [InlineData("DE89 3704 0044 0532 0130 0")]
    [InlineData("de89 3704 0044 0532 0130 00")]
    [InlineData("XDE89370400440532013000")]
    [InlineData("DE89370400440532013000X")]
    [InlineData("DE893704004405320130007")]
    [InlineData("DE89 37040044 0532 0130 00")]
    [InlineData("DE89  3704 0044 0532 0130 00")]
    [InlineData("DE89-3704-0044-0532-0130-00")]
    [InlineData("AB12")]
    [InlineData("NO9386011117")]
    public void Ignores_wrong_check_digits_and_wrong_shapes(string text) => Assert.Empty(Matches(text, DetectorKinds.Iban));

    [Theory]
    [InlineData("DE89 3704 0044 0532 0130 00 EUR", "DE89 3704 0044 0532 0130 00")]
    [InlineData("BE68 5390 0754 7034 1234", "BE68 5390 0754 7034")]
    public void Takes_the_longest_valid_grouping(string text, string iban) => Assert.Equal([iban], Matches(text, DetectorKinds.Iban));
}
