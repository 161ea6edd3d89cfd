using Wire.Enforcement.Masking;
using static Wire.Enforcement.Tests.Masking.MaskingTestSupport;

namespace Wire.Enforcement.Tests.Masking;

public sealed class AwsKeyDetectorTests
{
    [Theory]
    [InlineData("AKIAIOSFODNN7EXAMPLE")]
    [InlineData("ASIAY34FZKBOKMUTVV7A")]
    [InlineData("AKIA0000000000000000")]
    public void Finds_key_ids(string key)
    {
        Assert.Equal([key], Matches(key, DetectorKinds.AwsKey));
        Assert.Equal([key], Matches($"aws_access_key_id = {key}\n", DetectorKinds.AwsKey));
        Assert.Equal([key], Matches($"{{\"AccessKeyId\":\"{key}\"}}", DetectorKinds.AwsKey));
    }

    [Theory]
    [InlineData("AKIAIOSFODNN7EXAMPL")]
    [InlineData("AKIAIOSFODNN7EXAMPLEX")]
    [InlineData("AKIAIOSFODNN7EXAMPLE1")]
    [InlineData("xAKIAIOSFODNN7EXAMPLE")]
    [InlineData("_AKIAIOSFODNN7EXAMPLE")]
    [InlineData("AKIAiosfodnn7example")]
    [InlineData("ABIAIOSFODNN7EXAMPLE")]
    [InlineData("AKIA")]
    [InlineData("AKIAIOSFODNN7EXAMP-E")]
    public void Ignores_near_misses(string text) => Assert.Empty(Matches(text, DetectorKinds.AwsKey));
}
