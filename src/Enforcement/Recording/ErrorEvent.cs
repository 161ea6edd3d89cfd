using System.Text.Json;

namespace Wire.Enforcement.Recording;

/// <summary>An error the session reported to the client or met upstream (<c>error</c>).</summary>
/// <param name="Code">The protocol's code, for example a SQLSTATE such as <c>42501</c>.</param>
/// <param name="Message">The message, masked.</param>
public sealed record ErrorEvent(string Code, string Message) : RecordEvent
{
    /// <summary>The <c>type</c> of this record.</summary>
    public const string TypeName = "error";

    /// <inheritdoc />
    public override string Type => TypeName;

    /// <inheritdoc />
    protected internal override void WriteFields(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteString("code"u8, Code);
        writer.WriteString("message"u8, Message);
    }
}
