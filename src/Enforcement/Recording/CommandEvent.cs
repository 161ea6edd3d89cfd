using System.Text.Json;

namespace Wire.Enforcement.Recording;

/// <summary>A command the client sent and what Wire did with it (<c>command</c>).</summary>
/// <param name="Text">The command text, masked (SQL statement, SSH command line, HTTP method and path).</param>
/// <param name="Parameters">The bound parameter values, masked; null items for SQL NULL; null when the command has none.</param>
/// <param name="Kind">The command's kind, for example <c>select</c> or <c>delete</c>.</param>
/// <param name="Verdict">The policy's verdict.</param>
/// <param name="Rule">The rule that decided the verdict; null when the default action applied.</param>
/// <param name="Approver">Who decided a review; null when there was none or nobody decided.</param>
/// <param name="Outcome">What happened, for example <c>allowed</c>, <c>denied</c>, <c>approved</c> or <c>timed-out</c>.</param>
public sealed record CommandEvent(
    string Text,
    IReadOnlyList<string?>? Parameters,
    string Kind,
    RecordedVerdict Verdict,
    string? Rule,
    string? Approver,
    string Outcome) : RecordEvent
{
    /// <summary>The <c>type</c> of this record.</summary>
    public const string TypeName = "command";

    private static readonly JsonEncodedText ParametersName = JsonEncodedText.Encode("parameters");

    /// <inheritdoc />
    public override string Type => TypeName;

    /// <inheritdoc />
    protected internal override void WriteFields(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteString("text"u8, Text);
        WriteStringArray(writer, ParametersName, Parameters);
        writer.WriteString("kind"u8, Kind);
        writer.WriteString("verdict"u8, Verdict switch
        {
            RecordedVerdict.Allow => "allow"u8,
            RecordedVerdict.Deny => "deny"u8,
            RecordedVerdict.Review => "review"u8,
            _ => throw new InvalidOperationException("Unknown verdict."),
        });
        writer.WriteString("rule"u8, Rule);
        writer.WriteString("approver"u8, Approver);
        writer.WriteString("outcome"u8, Outcome);
    }
}
