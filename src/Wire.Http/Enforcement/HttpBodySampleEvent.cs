using System.Text.Json;
using Wire.Enforcement.Recording;

namespace Wire.Http.Enforcement;

/// <summary>The start of a masked response body as the client received it (<c>http.body</c>), recorded after its <c>result</c>.</summary>
/// <param name="ContentType">The response's Content-Type.</param>
/// <param name="Sample">The first bytes of the body after masking, as UTF-8 text (invalid sequences replaced).</param>
public sealed record HttpBodySampleEvent(string ContentType, string Sample) : RecordEvent
{
    /// <summary>The <c>type</c> of this record.</summary>
    public const string TypeName = "http.body";

    /// <summary>How many bytes of a body are kept as its sample.</summary>
    public const int SampleBytes = 512;

    /// <inheritdoc />
    public override string Type => TypeName;

    /// <inheritdoc />
    protected internal override void WriteFields(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteString("contentType"u8, ContentType);
        writer.WriteString("sample"u8, Sample);
    }
}
