namespace Wire.Enforcement.Masking;

/// <summary>Where a scan stands: triggers inside a match are not looked at again, nor numbers already tried.</summary>
internal struct ScanCursor
{
    /// <summary>Triggers before this offset lie inside a match found already.</summary>
    public int SkipUntil;

    /// <summary>Numbers that start before this offset were tried already.</summary>
    public int NumbersFrom;
}
