using Wire.Enforcement.Masking;
using static Wire.Enforcement.Tests.Masking.MaskingTestSupport;

namespace Wire.Enforcement.Tests.Masking;

public sealed class SsnDetectorTests
{
    [Theory]
    [InlineData("123-45-6789")]
    [InlineData("001-01-0001")]
    [InlineData("665-99-9999")]
    [InlineData("899-12-3456")]
    public void Finds_valid_numbers(string ssn)
    {
        Assert.Equal([ssn], Matches(ssn, DetectorKinds.Ssn));
        Assert.Equal([ssn], Matches($"SSN: {ssn}.", DetectorKinds.Ssn));
        Assert.Equal([ssn], Matches($"12 {ssn} 34", DetectorKinds.Ssn));
    }

    [Theory]
    [InlineData("000-12-3456")]
    [InlineData("666-12-3456")]
    [InlineData("900-12-3456")]
    [InlineData("999-12-3456")]
    [InlineData("123-00-6789")]
    [InlineData("123-45-0000")]
    [InlineData("123456789")]
    [InlineData("123 45 6789")]
    [InlineData("123-45-67890")]
    [InlineData("1123-45-6789")]
    [InlineData("12-345-6789")]
    [InlineData("x123-45-6789")]
    [InlineData("123-45-6789x")]
    [InlineData("2024-123-45-6789")]
    [InlineData("123-45-6789-1")]
    [InlineData("123-45-6789.5")]
    public void Ignores_near_misses_and_numbers_that_continue(string text) => Assert.Empty(Matches(text, DetectorKinds.Ssn));
}
