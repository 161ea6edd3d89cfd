namespace Wire.Enforcement.Recording;

/// <summary>The outcome of verifying one recording file.</summary>
/// <param name="Path">The file.</param>
/// <param name="Records">Records that verified: all of them when the file is valid, those before <paramref name="BadRecord"/> otherwise.</param>
/// <param name="LostRecords">Events the recorder reported refused (<c>records.lost</c>) among the verified records.</param>
/// <param name="BadRecord">The 1-based number (line) of the first bad record; 0 when the file is valid.</param>
/// <param name="Defect">What is wrong at <paramref name="BadRecord"/>.</param>
/// <param name="Detail">A short explanation of the defect; null when the file is valid.</param>
public sealed record RecordingVerification(string Path, long Records, long LostRecords, long BadRecord, RecordingDefect Defect, string? Detail)
{
    /// <summary>Whether the file verified completely.</summary>
    public bool IsValid => Defect == RecordingDefect.None;

    /// <summary>The defect as printed by <c>wire verify</c>: <c>edited</c>, <c>removed</c>, ..., <c>wrong key</c>; empty when valid.</summary>
    public string DefectName => Defect switch
    {
        RecordingDefect.None => string.Empty,
        RecordingDefect.Edited => "edited",
        RecordingDefect.Removed => "removed",
        RecordingDefect.Reordered => "reordered",
        RecordingDefect.Truncated => "truncated",
        RecordingDefect.Appended => "appended",
        RecordingDefect.WrongKey => "wrong key",
        _ => Defect.ToString(),
    };
}
