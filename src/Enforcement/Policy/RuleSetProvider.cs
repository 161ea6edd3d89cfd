namespace Wire.Enforcement.Policy;

/// <summary>
/// Holds the current <see cref="RuleSet"/>; a reload swaps it atomically. Sessions read <see cref="Current"/> per
/// execution (one volatile read) and re-derive their <see cref="SessionPolicy"/> when it changed, so new rules take
/// effect without dropping sessions.
/// </summary>
public sealed class RuleSetProvider
{
    private volatile RuleSet _current;

    /// <summary>Starts with <paramref name="initial"/>.</summary>
    public RuleSetProvider(RuleSet initial)
    {
        ArgumentNullException.ThrowIfNull(initial);
        _current = initial;
    }

    /// <summary>The rules in force.</summary>
    public RuleSet Current => _current;

    /// <summary>Puts <paramref name="rules"/> in force for every execution that starts from now on.</summary>
    public void Update(RuleSet rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        _current = rules;
    }
}
