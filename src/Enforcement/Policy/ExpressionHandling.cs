namespace Wire.Enforcement.Policy;

/// <summary>What a mask rule does with statements that compute with its masked columns (config key <c>expressions</c>).</summary>
public enum ExpressionHandling : byte
{
    /// <summary>Mask the computed values whole (the default): detectors cannot see md5, base64 or substrings.</summary>
    Mask,

    /// <summary>Refuse the statement (42501).</summary>
    Refuse,
}
