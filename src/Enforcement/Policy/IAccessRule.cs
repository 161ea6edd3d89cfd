namespace Wire.Enforcement.Policy;

/// <summary>
/// A rule written in code (an embedding host's), judged with the configured rules at every execution of every session:
/// deny if any rule denies; else review if any asks for one (approvers are the union, the timeout the shortest); else
/// allow if a rule allows; else <c>policy.defaultAction</c>. Register it with <c>AddRule&lt;T&gt;()</c> (Wire.Hosting) or
/// pass it to <see cref="RuleSetProvider"/>.
/// </summary>
/// <remarks>
/// <see cref="Evaluate"/> runs on the session's relay for each execution: it must be fast, must not block, must be safe
/// to call from many sessions at once, and should not allocate. An exception from it denies the execution (fail closed).
/// </remarks>
public interface IAccessRule
{
    /// <summary>The rule's name: recorded with each verdict it gives, and shown to a client it refuses.</summary>
    string Name { get; }

    /// <summary>The verdict on one execution, or null when the rule has nothing to say about it.</summary>
    /// <param name="protocol">The session's protocol.</param>
    /// <param name="target">The target's name.</param>
    /// <param name="identity">Who asks.</param>
    /// <param name="request">What is asked: statement kinds, relations, functions, normalized text, the SSH or HTTP facts.</param>
    Verdict? Evaluate(WireProtocol protocol, string target, Identity.WireIdentity identity, in AccessRequest request);
}
