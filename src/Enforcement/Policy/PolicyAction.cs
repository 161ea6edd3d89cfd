namespace Wire.Enforcement.Policy;

/// <summary>What a rule does when it matches (config key <c>action</c>).</summary>
public enum PolicyAction : byte
{
    /// <summary>Let the command run.</summary>
    Allow,

    /// <summary>Refuse the command with a protocol-native error naming the rule.</summary>
    Deny,

    /// <summary>Hold the command until an approver decides, or the review times out.</summary>
    Review,

    /// <summary>Mask result values (a mask rule never decides whether a command runs).</summary>
    Mask,
}
