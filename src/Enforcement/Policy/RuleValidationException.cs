namespace Wire.Enforcement.Policy;

/// <summary>A rule is invalid; <see cref="Key"/> names it the way the config does (<c>rules[2].pattern</c>).</summary>
public sealed class RuleValidationException : Exception
{
    /// <summary>Creates the exception for rule <paramref name="index"/>'s <paramref name="key"/>.</summary>
    public RuleValidationException(int index, string key, string reason)
        : base($"rules[{index}]{(key.Length == 0 ? string.Empty : "." + key)}: {reason}")
    {
        Index = index;
        Key = key;
        Reason = reason;
    }

    /// <summary>The rule's position in the list.</summary>
    public int Index { get; }

    /// <summary>The offending key inside the rule; empty for the rule as a whole.</summary>
    public string Key { get; }

    /// <summary>What is wrong, without the key.</summary>
    public string Reason { get; }
}
