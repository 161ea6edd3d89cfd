namespace Wire.Enforcement.Policy;

/// <summary>Which result values a mask rule's content detectors scan (config key <c>detectorScope</c>).</summary>
public enum DetectorScope : byte
{
    /// <summary>Values that do not come straight from a table column (PostgreSQL: table OID 0), the default.</summary>
    Expressions,

    /// <summary>Every text value.</summary>
    All,
}
