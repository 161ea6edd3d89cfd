using System.Text.Json;

namespace Wire.Enforcement.Recording;

/// <summary>
/// Stands in for an event whose line would exceed <see cref="RecordingFormat.MaxLineBytes"/> (<c>record.oversized</c>),
/// so every line a recorder writes is one the verifier reads.
/// </summary>
/// <param name="OriginalType">The type of the event that was too large.</param>
/// <param name="Bytes">The size its line would have had.</param>
internal sealed record RecordOversizedEvent(string OriginalType, long Bytes) : RecordEvent
{
    public const string TypeName = "record.oversized";

    public override string Type => TypeName;

    protected internal override void WriteFields(Utf8JsonWriter writer)
    {
        writer.WriteString("originalType", OriginalType);
        writer.WriteNumber("bytes", Bytes);
    }
}
