namespace Wire.Enforcement.Identity;

/// <summary>A development token from config: whoever presents <see cref="Token"/> is <see cref="Subject"/>.</summary>
/// <param name="Token">The secret token text.</param>
/// <param name="Subject">The identity's subject.</param>
/// <param name="Groups">The identity's groups.</param>
public sealed record StaticToken(string Token, string Subject, IReadOnlyList<string> Groups)
{
    /// <inheritdoc />
    public override string ToString() => $"StaticToken {{ Subject = {Subject} }}"; // never print the token
}
