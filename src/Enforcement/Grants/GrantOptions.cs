namespace Wire.Enforcement.Grants;

/// <summary>How grants are decided (config key <c>grants</c>).</summary>
public sealed class GrantOptions
{
    /// <summary>Groups whose members may approve, deny and revoke grants. Nobody approves their own request.</summary>
    public required IReadOnlyList<string> Approvers { get; init; }

    /// <summary>The longest duration a grant may ask for. Default: 8 hours.</summary>
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromHours(8);

    /// <summary>How many ended grants stay listed (newest kept). Default: 1000.</summary>
    public int KeepEnded { get; init; } = 1000;
}
