using System.Text.Json;
using Wire.Enforcement.Recording;

namespace Wire.Http.Enforcement;

/// <summary>
/// The head of a request as the client sent it (<c>http.request</c>): host and fields, credentials blanked.
/// Recorded after the request's <c>command</c>.
/// </summary>
/// <param name="Host">The Host field.</param>
/// <param name="Fields">The fields as <c>Name: value</c>, in order; credential values (Authorization, cookies, tokens, keys) are <c>***</c>.</param>
public sealed record HttpRequestEvent(string Host, IReadOnlyList<string> Fields) : RecordEvent
{
    /// <summary>The <c>type</c> of this record.</summary>
    public const string TypeName = "http.request";

    private static readonly JsonEncodedText FieldsName = JsonEncodedText.Encode("fields");

    /// <inheritdoc />
    public override string Type => TypeName;

    /// <inheritdoc />
    protected internal override void WriteFields(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteString("host"u8, Host);
        WriteStringArray(writer, FieldsName, Fields);
    }
}
