using System.Text.Json;

namespace Wire.Enforcement.Recording;

/// <summary>
/// One event of a session recording. The recorder writes the envelope (<c>v</c>, <c>seq</c>, <c>ts</c>, <c>session</c>,
/// <c>type</c>, then <c>prev</c> and <c>mac</c>); the event writes only its own fields. A protocol adds event types by
/// deriving from this record; <c>wire verify</c> and <c>wire replay</c> handle types they do not know.
/// </summary>
/// <remarks>
/// Strings must already be masked: the recorder writes what it is given. The file recorder serializes an event before
/// <see cref="ISessionRecorder.TryRecord"/> returns.
/// </remarks>
public abstract record RecordEvent
{
    /// <summary>The record's <c>type</c>, for example <c>command</c>; lower case, dotted names for protocol-specific types.</summary>
    public abstract string Type { get; }

    /// <summary>
    /// Writes the event's fields as properties of the record object that is open on <paramref name="writer"/>. Must leave
    /// the writer at the same depth and must not use the envelope names <c>v</c>, <c>seq</c>, <c>ts</c>, <c>session</c>,
    /// <c>type</c>, <c>prev</c> or <c>mac</c>.
    /// </summary>
    /// <param name="writer">The writer, positioned inside the record object.</param>
    protected internal abstract void WriteFields(Utf8JsonWriter writer);

    /// <summary>Writes <paramref name="values"/> as a JSON array of strings (null items as <c>null</c>), or <c>null</c>.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="name">The property name.</param>
    /// <param name="values">The strings; null writes <c>null</c>.</param>
    protected static void WriteStringArray(Utf8JsonWriter writer, string name, IEnumerable<string?>? values) =>
        WriteStringArray(writer, JsonEncodedText.Encode(name), values);

    /// <summary>As <see cref="WriteStringArray(Utf8JsonWriter, string, IEnumerable{string})"/>, with a pre-encoded name.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="name">The property name.</param>
    /// <param name="values">The strings; null writes <c>null</c>.</param>
    protected static void WriteStringArray(Utf8JsonWriter writer, JsonEncodedText name, IEnumerable<string?>? values)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (values is null)
        {
            writer.WriteNull(name);
            return;
        }
        writer.WriteStartArray(name);
        if (values is IReadOnlyList<string?> list)
        {
            // Most callers pass a list: no enumerator to allocate.
            for (int i = 0; i < list.Count; i++)
            {
                writer.WriteStringValue(list[i]);
            }
        }
        else
        {
            foreach (var value in values)
            {
                writer.WriteStringValue(value);
            }
        }
        writer.WriteEndArray();
    }
}
