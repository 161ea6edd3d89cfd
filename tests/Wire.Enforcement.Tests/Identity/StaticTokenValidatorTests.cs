using Wire.Enforcement.Identity;

namespace Wire.Enforcement.Tests.Identity;

public sealed class StaticTokenValidatorTests
{
    private static StaticTokenValidator Create() => new(
    [
        new StaticToken("alice-secret", "alice", ["dba", "ops"]),
        new StaticToken("bob-secret", "bob", []),
    ]);

    [Fact]
    public async Task Accepts_a_configured_token_with_its_subject_and_groups()
    {
        var result = await Create().ValidateAsync("alice-secret", CancellationToken.None);

        Assert.True(result.Succeeded);
        Assert.Equal("alice", result.Identity!.Subject);
        Assert.Equal(["dba", "ops"], result.Identity.Groups);
        Assert.Equal("static-token", result.Identity.Method);
        Assert.True(result.Identity.IsInGroup("ops"));
        Assert.Null(result.FailureReason);
    }

    [Fact]
    public async Task Maps_each_token_to_its_own_subject()
    {
        var validator = Create();

        var bob = await validator.ValidateAsync("bob-secret", CancellationToken.None);

        Assert.Equal("bob", bob.Identity!.Subject);
        Assert.Empty(bob.Identity.Groups);
    }

    [Theory]
    [InlineData("alice-secreT")]
    [InlineData("alice-secret ")]
    [InlineData("alice-secre")]
    [InlineData("alice-secret-and-more")]
    [InlineData("ALICE-SECRET")]
    public async Task Rejects_a_token_that_is_not_configured(string token)
    {
        var result = await Create().ValidateAsync(token, CancellationToken.None);

        Assert.False(result.Succeeded);
        Assert.Null(result.Identity);
        Assert.NotNull(result.FailureReason);
        Assert.DoesNotContain(token, result.FailureReason);
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    public async Task Rejects_an_empty_token(string? token)
    {
        var result = await Create().ValidateAsync(token!, CancellationToken.None);

        Assert.False(result.Succeeded);
    }

    [Fact]
    public async Task Accepts_a_long_non_ascii_token()
    {
        var token = string.Concat(Enumerable.Repeat("jeton-très-long-", 100));
        var validator = new StaticTokenValidator([new StaticToken(token, "carol", ["g"])]);

        Assert.True((await validator.ValidateAsync(token, CancellationToken.None)).Succeeded);
        Assert.False((await validator.ValidateAsync(token + "x", CancellationToken.None)).Succeeded);
    }

    [Fact]
    public async Task An_empty_configuration_accepts_nothing()
    {
        var validator = new StaticTokenValidator([]);

        Assert.Equal(0, validator.Count);
        Assert.False((await validator.ValidateAsync("anything", CancellationToken.None)).Succeeded);
    }

    [Fact]
    public void Duplicate_tokens_are_refused_naming_the_subjects_not_the_token()
    {
        var ex = Assert.Throws<ArgumentException>(() => new StaticTokenValidator(
        [
            new StaticToken("shared-secret", "alice", []),
            new StaticToken("other", "bob", []),
            new StaticToken("shared-secret", "carol", []),
        ]));

        Assert.Contains("alice", ex.Message);
        Assert.Contains("carol", ex.Message);
        Assert.DoesNotContain("shared-secret", ex.Message);
    }

    [Fact]
    public void An_empty_configured_token_is_refused_naming_the_subject()
    {
        var ex = Assert.Throws<ArgumentException>(() => new StaticTokenValidator([new StaticToken("", "alice", [])]));

        Assert.Contains("alice", ex.Message);
    }

    [Fact]
    public void Groups_are_copied_from_the_configuration()
    {
        var groups = new List<string> { "dba" };
        var validator = new StaticTokenValidator([new StaticToken("t", "alice", groups)]);
        groups.Add("root");

        Assert.Equal(["dba"], validator.Validate("t").Identity!.Groups);
    }

    [Fact]
    public void StaticToken_ToString_never_prints_the_token()
    {
        Assert.DoesNotContain("alice-secret", new StaticToken("alice-secret", "alice", []).ToString());
    }
}
