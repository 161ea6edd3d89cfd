using System.Text.Json;

namespace Wire.Enforcement.Recording;

/// <summary>A summary of what a command returned (<c>result</c>); never the values themselves.</summary>
/// <param name="Rows">Rows (or items) returned or affected.</param>
/// <param name="Bytes">Result bytes sent to the client.</param>
/// <param name="Masked">Masked values per column (or field): name to count. Written with keys in ordinal order.</param>
/// <param name="Duration">From forwarding the command to its completion; written as <c>durationMs</c> (3 decimals).</param>
public sealed record ResultEvent(long Rows, long Bytes, IReadOnlyDictionary<string, long> Masked, TimeSpan Duration) : RecordEvent
{
    /// <summary>The <c>type</c> of this record.</summary>
    public const string TypeName = "result";

    /// <summary>The protocol's completion status, for example <c>SELECT 5</c>; omitted when null.</summary>
    public string? Status { get; init; }

    /// <inheritdoc />
    public override string Type => TypeName;

    /// <inheritdoc />
    protected internal override void WriteFields(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteNumber("rows"u8, Rows);
        writer.WriteNumber("bytes"u8, Bytes);
        writer.WriteStartObject("masked"u8);
        if (Masked is { Count: > 0 })
        {
            foreach (var (column, count) in Masked.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                writer.WriteNumber(column, count);
            }
        }
        writer.WriteEndObject();
        writer.WriteNumber("durationMs"u8, Math.Round(Duration.TotalMilliseconds, 3));
        if (Status is not null)
        {
            writer.WriteString("status"u8, Status);
        }
    }
}
