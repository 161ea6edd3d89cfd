using System.Text.Json;

namespace Wire.Enforcement.Recording;

/// <summary>
/// Marks events the recorder refused because its queue was full (<c>records.lost</c>), written where they would have
/// been, so a recording never looks complete when it is not.
/// </summary>
/// <param name="Count">How many events were refused.</param>
internal sealed record RecordsLostEvent(long Count) : RecordEvent
{
    public const string TypeName = "records.lost";

    public override string Type => TypeName;

    protected internal override void WriteFields(Utf8JsonWriter writer) => writer.WriteNumber("count", Count);
}
