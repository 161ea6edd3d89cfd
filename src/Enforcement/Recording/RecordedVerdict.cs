namespace Wire.Enforcement.Recording;

/// <summary>The policy's verdict on a command, as recorded (<c>allow</c>, <c>deny</c> or <c>review</c>).</summary>
public enum RecordedVerdict
{
    /// <summary>The command was allowed by policy.</summary>
    Allow,

    /// <summary>The command was denied by a rule.</summary>
    Deny,

    /// <summary>The command needed a review; the outcome says how it was decided.</summary>
    Review,
}
