namespace Wire.Enforcement.Policy;

/// <summary>
/// Holds the current <see cref="RuleSet"/>; a reload swaps it atomically. Sessions read <see cref="Current"/> per
/// execution (one volatile read) and re-derive their <see cref="SessionPolicy"/> when it changed, so new rules take
/// effect without dropping sessions.
/// </summary>
public sealed class RuleSetProvider
{
    private volatile RuleSet _current;
    private readonly IReadOnlyList<IAccessRule> _custom;

    /// <summary>Starts with <paramref name="initial"/>.</summary>
    public RuleSetProvider(RuleSet initial)
        : this(initial, [])
    {
    }

    /// <summary>Starts with <paramref name="initial"/>; <paramref name="customRules"/> are judged with every snapshot put in force.</summary>
    /// <exception cref="RuleValidationException">A custom rule has no name, or the name of another rule.</exception>
    public RuleSetProvider(RuleSet initial, IReadOnlyList<IAccessRule> customRules)
    {
        ArgumentNullException.ThrowIfNull(initial);
        ArgumentNullException.ThrowIfNull(customRules);
        _custom = customRules;
        _current = customRules.Count == 0 ? initial : initial.WithCustomRules(customRules);
    }

    /// <summary>The rules in force.</summary>
    public RuleSet Current => _current;

    /// <summary>Puts <paramref name="rules"/> in force for every execution that starts from now on.</summary>
    public void Update(RuleSet rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        _current = _custom.Count == 0 ? rules : rules.WithCustomRules(_custom);
    }
}
