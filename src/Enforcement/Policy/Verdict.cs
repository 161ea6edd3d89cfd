namespace Wire.Enforcement.Policy;

/// <summary>
/// The outcome of evaluating a policy for one execution: allow, deny (with the rule and its message) or review
/// (with the union of the matching rules' approver groups and the shortest timeout). A value, never an exception.
/// </summary>
public readonly record struct Verdict
{
    private static readonly IReadOnlyList<string> NoApprovers = [];

    private Verdict(PolicyAction action, string? rule, string? message, IReadOnlyList<string>? approvers, TimeSpan timeout)
    {
        Action = action;
        Rule = rule;
        Message = message;
        Approvers = approvers ?? NoApprovers;
        Timeout = timeout;
    }

    /// <summary><see cref="PolicyAction.Allow"/>, <see cref="PolicyAction.Deny"/> or <see cref="PolicyAction.Review"/>.</summary>
    public PolicyAction Action { get; }

    /// <summary>The deciding rule's name; null for the default action. For a review, the rules' names joined with commas.</summary>
    public string? Rule { get; }

    /// <summary>The deny rule's message, if it has one.</summary>
    public string? Message { get; }

    /// <summary>For a review: the groups whose members may approve.</summary>
    public IReadOnlyList<string> Approvers { get; }

    /// <summary>For a review: how long to wait for a decision.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Allowed by a rule, or by the default action when <paramref name="rule"/> is null.</summary>
    public static Verdict Allow(string? rule = null) => new(PolicyAction.Allow, rule, null, null, TimeSpan.Zero);

    /// <summary>Denied by <paramref name="rule"/> (null: by the default action).</summary>
    public static Verdict Deny(string? rule, string? message) => new(PolicyAction.Deny, rule, message, null, TimeSpan.Zero);

    /// <summary>Held for review by <paramref name="rule"/>.</summary>
    public static Verdict Review(string rule, IReadOnlyList<string> approvers, TimeSpan timeout) =>
        new(PolicyAction.Review, rule, null, approvers, timeout);
}
