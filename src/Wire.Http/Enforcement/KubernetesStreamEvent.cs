using System.Text.Json;
using Wire.Enforcement.Recording;

namespace Wire.Http.Enforcement;

/// <summary>What a client typed into a Kubernetes exec or attach stream (<c>k8s.stdin</c>), one record per WebSocket message.</summary>
/// <param name="Text">The bytes of the message as UTF-8 text (invalid sequences replaced).</param>
public sealed record KubernetesStreamEvent(string Text) : RecordEvent
{
    /// <summary>The <c>type</c> of this record.</summary>
    public const string TypeName = "k8s.stdin";

    /// <inheritdoc />
    public override string Type => TypeName;

    /// <inheritdoc />
    protected internal override void WriteFields(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteString("text"u8, Text);
    }
}
