namespace Wire.Enforcement.Masking;

/// <summary>
/// One masked range: the union of the detector matches that overlap there, as byte offsets into the
/// scanned span, and which detectors matched.
/// </summary>
/// <param name="Start">Offset of the first byte.</param>
/// <param name="Length">Length in bytes (at least 1).</param>
/// <param name="Kinds">The built-in detectors whose matches make up the range (<see cref="DetectorKinds.None"/> when only a host's own detectors matched there).</param>
public readonly record struct DetectorHit(int Start, int Length, DetectorKinds Kinds)
{
    /// <summary>Offset just past the last byte.</summary>
    public int End => Start + Length;
}
