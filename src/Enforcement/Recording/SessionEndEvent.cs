using System.Text.Json;

namespace Wire.Enforcement.Recording;

/// <summary>The last record (<c>session.end</c>); written only by the recorder, which knows the count.</summary>
/// <param name="Reason">Why the session ended.</param>
/// <param name="Records">The number of records in the file, this one included.</param>
/// <param name="Attachments">The SHA-256 (hex) of each attachment file, by name; null or empty when there are none.</param>
internal sealed record SessionEndEvent(string Reason, long Records, IReadOnlyList<(string Name, string Sha256)>? Attachments = null) : RecordEvent
{
    public const string TypeName = "session.end";

    public override string Type => TypeName;

    protected internal override void WriteFields(Utf8JsonWriter writer)
    {
        writer.WriteString("reason", Reason);
        writer.WriteNumber("records", Records);
        if (Attachments is { Count: > 0 })
        {
            writer.WriteStartObject("attachments");
            foreach (var (name, sha256) in Attachments)
            {
                writer.WriteString(name, sha256);
            }
            writer.WriteEndObject();
        }
    }
}
