namespace Wire.Enforcement.Recording;

/// <summary>What is wrong with a recording, at its first bad record (docs/recording.md, "Verification").</summary>
public enum RecordingDefect
{
    /// <summary>Nothing: every record verifies and the file ends with a matching <c>session.end</c>.</summary>
    None,

    /// <summary>A record's bytes changed: its MAC does not match, or it is not a valid record.</summary>
    Edited,

    /// <summary>A record is missing: <c>seq</c> skips a number that appears nowhere later in the file.</summary>
    Removed,

    /// <summary>A record is out of place: <c>seq</c> goes backwards or skips a number found later, or <c>prev</c> does not match.</summary>
    Reordered,

    /// <summary>The file ends early: a partial last line, no final <c>session.end</c>, or a record count that differs.</summary>
    Truncated,

    /// <summary>Lines follow the <c>session.end</c> record.</summary>
    Appended,

    /// <summary>No record verifies under the key: the recording was signed with a different key.</summary>
    WrongKey,
}
