using System.Text.Json;

namespace Wire.Enforcement.Recording;

/// <summary>The last record (<c>session.end</c>); written only by the recorder, which knows the count.</summary>
/// <param name="Reason">Why the session ended.</param>
/// <param name="Records">The number of records in the file, this one included.</param>
internal sealed record SessionEndEvent(string Reason, long Records) : RecordEvent
{
    public const string TypeName = "session.end";

    public override string Type => TypeName;

    protected internal override void WriteFields(Utf8JsonWriter writer)
    {
        writer.WriteString("reason", Reason);
        writer.WriteNumber("records", Records);
    }
}
