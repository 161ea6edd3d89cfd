using Wire.Enforcement.Masking;

namespace Wire.Enforcement.Tests.Masking;

public sealed class MaskingNamesTests
{
    [Theory]
    [InlineData("card", DetectorKinds.Card)]
    [InlineData("ssn", DetectorKinds.Ssn)]
    [InlineData("email", DetectorKinds.Email)]
    [InlineData("phone", DetectorKinds.Phone)]
    [InlineData("iban", DetectorKinds.Iban)]
    [InlineData("aws-key", DetectorKinds.AwsKey)]
    [InlineData("jwt", DetectorKinds.Jwt)]
    [InlineData("pem", DetectorKinds.Pem)]
    [InlineData("all", DetectorKinds.All)]
    public void Detector_names_parse_and_format(string name, DetectorKinds kind)
    {
        Assert.True(DetectorNames.TryParse(name, out var parsed));
        Assert.Equal(kind, parsed);
        if (kind != DetectorKinds.All)
        {
            Assert.Equal(name, DetectorNames.GetName(kind));
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("Card")]
    [InlineData("aws_key")]
    [InlineData("awskey")]
    [InlineData(" card")]
    [InlineData("none")]
    public void Unknown_detector_names_do_not_parse(string name)
    {
        Assert.False(DetectorNames.TryParse(name, out var kind));
        Assert.Equal(DetectorKinds.None, kind);
    }

    [Fact]
    public void Names_cover_every_detector_once()
    {
        Assert.Equal(["card", "ssn", "email", "phone", "iban", "aws-key", "jwt", "pem"], DetectorNames.All);
        Assert.Equal(DetectorNames.All, DetectorNames.GetNames(DetectorKinds.All));
        Assert.Equal(["ssn", "jwt"], DetectorNames.GetNames(DetectorKinds.Jwt | DetectorKinds.Ssn));
        Assert.Empty(DetectorNames.GetNames(DetectorKinds.None));
        Assert.Throws<ArgumentOutOfRangeException>(() => DetectorNames.GetName(DetectorKinds.Card | DetectorKinds.Ssn));
        Assert.Throws<ArgumentOutOfRangeException>(() => DetectorNames.GetName(DetectorKinds.None));
    }

    [Theory]
    [InlineData("partial", MaskStyle.Partial)]
    [InlineData("email", MaskStyle.Email)]
    [InlineData("digits", MaskStyle.Digits)]
    [InlineData("full", MaskStyle.Full)]
    public void Style_names_parse_and_format(string name, MaskStyle style)
    {
        Assert.True(MaskStyles.TryParse(name, out var parsed));
        Assert.Equal(style, parsed);
        Assert.Equal(name, MaskStyles.GetName(style));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Full")]
    [InlineData("hash")]
    public void Unknown_style_names_do_not_parse(string name) => Assert.False(MaskStyles.TryParse(name, out _));

    [Theory]
    [InlineData(MaskStyle.Partial, MaskStyle.Email, MaskStyle.Email)]
    [InlineData(MaskStyle.Email, MaskStyle.Digits, MaskStyle.Digits)]
    [InlineData(MaskStyle.Digits, MaskStyle.Full, MaskStyle.Full)]
    [InlineData(MaskStyle.Full, MaskStyle.Partial, MaskStyle.Full)]
    [InlineData(MaskStyle.Partial, MaskStyle.Partial, MaskStyle.Partial)]
    public void The_strictest_style_wins_in_either_order(MaskStyle first, MaskStyle second, MaskStyle strictest)
    {
        Assert.Equal(strictest, MaskStyles.Strictest(first, second));
        Assert.Equal(strictest, MaskStyles.Strictest(second, first));
    }
}
