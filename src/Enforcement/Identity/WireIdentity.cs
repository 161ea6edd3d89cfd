namespace Wire.Enforcement.Identity;

/// <summary>
/// Who is asking: the authenticated subject and its groups, as proven by a token.
/// </summary>
/// <param name="Subject">The token's subject (static token <c>subject</c>, or the OIDC subject claim).</param>
/// <param name="Groups">The groups the subject belongs to; never null, possibly empty.</param>
/// <param name="Method">How the identity was proven, for recordings and logs (for example <c>static-token</c> or <c>oidc</c>).</param>
public sealed record WireIdentity(string Subject, IReadOnlyList<string> Groups, string Method)
{
    /// <summary>Whether the identity is a member of <paramref name="group"/> (ordinal comparison).</summary>
    public bool IsInGroup(string group)
    {
        foreach (var g in Groups)
        {
            if (string.Equals(g, group, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }
}
