namespace Wire.Fuzz.Targets;

/// <summary>A fuzz target found the reader breaking one of its invariants: always a finding, never expected.</summary>
public sealed class FuzzInvariantException(string message) : Exception(message);
