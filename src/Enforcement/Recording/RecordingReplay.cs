using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Wire.Enforcement.Recording;

/// <summary>
/// Prints a recording as a transcript for people: one line per record with its time since the first record, its type
/// and a summary (identity, command text, verdict and rule, result, error, end reason). Replay does not verify; pair it
/// with <see cref="RecordingVerifier"/>.
/// </summary>
/// <remarks>
/// Recorded text comes from clients, so it is printed escaped: a backslash as <c>\\</c>, newline, carriage return and
/// tab as <c>\n</c>, <c>\r</c>, <c>\t</c>, and every other control, format (such as bidirectional overrides) or line
/// separator character as <c>\u{hex}</c>. Nothing a client sent can move the cursor, recolour or reorder the terminal.
/// Other Unicode characters are printed as they are.
/// </remarks>
public static class RecordingReplay
{
    private const int TypeColumn = 15;

    private static readonly JsonReaderOptions ReaderOptions = new() { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 };

    private static readonly HashSet<string> EnvelopeFields = new(StringComparer.Ordinal) { "v", "seq", "ts", "session", "type", "prev", "mac" };

    /// <summary>Writes the transcript of the recording at <paramref name="path"/> to <paramref name="output"/>.</summary>
    /// <param name="path">The recording.</param>
    /// <param name="output">Where the transcript goes.</param>
    /// <returns>The number of lines that were records.</returns>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static long Write(string path, TextWriter output)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(output);
        return Write(RecordingLineReader.Open(path), output);
    }

    /// <summary>Writes the transcript of the recording read from <paramref name="recording"/>, which it disposes.</summary>
    internal static long Write(Stream recording, TextWriter output) => Write(new RecordingLineReader(recording), output);

    private static long Write(RecordingLineReader lines, TextWriter output)
    {
        using var reader = lines;
        DateTimeOffset? start = null;
        long records = 0;
        while (reader.TryReadLine(out var line, out var status))
        {
            var number = reader.LineNumber.ToString(CultureInfo.InvariantCulture);
            if (status == RecordingLineStatus.TooLong)
            {
                output.WriteLine($"line {number}: longer than any record; skipped");
                continue;
            }
            using var document = TryParse(line);
            if (document is null || document.RootElement.ValueKind != JsonValueKind.Object)
            {
                output.WriteLine(status == RecordingLineStatus.Unterminated
                    ? $"line {number}: incomplete (the recording was cut off or is still being written)"
                    : $"line {number}: not a record");
                continue;
            }
            var root = document.RootElement;
            var hasTime = RecordingFormat.TryParseTimestamp(String(root, "ts"), out var time);
            if (start is null && hasTime)
            {
                start = time;
                output.WriteLine($"session {Escape(String(root, "session"))}, recorded from {Escape(String(root, "ts"))}");
            }
            var type = String(root, "type") ?? "?";
            output.Write(hasTime && start is { } origin ? Offset(time - origin) : "+?           ");
            output.Write(' ');
            output.Write(Escape(type).PadRight(TypeColumn));
            output.Write(' ');
            output.WriteLine(Describe(type, root));
            records++;
        }
        return records;
    }

    private static JsonDocument? TryParse(ReadOnlySpan<byte> line)
    {
        var reader = new Utf8JsonReader(line, ReaderOptions);
        try
        {
            var document = JsonDocument.ParseValue(ref reader);
            if (reader.Read())
            {
                document.Dispose();
                return null;
            }
            return document;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Offset(TimeSpan offset)
    {
        var sign = offset < TimeSpan.Zero ? '-' : '+';
        var magnitude = offset.Duration();
        return string.Create(CultureInfo.InvariantCulture,
            $"{sign}{(long)magnitude.TotalHours:00}:{magnitude.Minutes:00}:{magnitude.Seconds:00}.{magnitude.Milliseconds:000}");
    }

    private static string Describe(string type, JsonElement root)
    {
        try
        {
            var text = type switch
            {
                SessionStartEvent.TypeName => DescribeStart(root),
                CommandEvent.TypeName => DescribeCommand(root),
                ResultEvent.TypeName => DescribeResult(root),
                ErrorEvent.TypeName => $"{Escape(String(root, "code"))}: {Escape(String(root, "message"))}",
                SessionEndEvent.TypeName => $"{Escape(String(root, "reason"))}, {Number(root, "records")} records",
                RecordsLostEvent.TypeName => $"{Number(root, "count")} events not recorded: the recorder fell behind",
                RecordOversizedEvent.TypeName =>
                    $"a {Escape(String(root, "originalType"))} record of {Number(root, "bytes")} bytes was too large to record",
                _ => null,
            };
            return text ?? Fields(root);
        }
        catch (InvalidOperationException)
        {
            // A known type with a field of the wrong kind: show what is there.
            return Fields(root);
        }
    }

    private static string DescribeStart(JsonElement root)
    {
        var text = new StringBuilder();
        text.Append(Escape(String(root, "subject")));
        if (root.TryGetProperty("groups", out var groups) && groups.ValueKind == JsonValueKind.Array)
        {
            text.Append(" [").AppendJoin(", ", groups.EnumerateArray().Select(g => Escape(g.ToString()))).Append(']');
        }
        text.Append(" from ").Append(Escape(String(root, "client")));
        text.Append(" to ").Append(Escape(String(root, "target")));
        var tls = root.TryGetProperty("tls", out var t) && t.ValueKind == JsonValueKind.True;
        text.Append(" (").Append(Escape(String(root, "protocol"))).Append(tls ? ", tls)" : ", no tls)");
        if (String(root, "database") is { } database)
        {
            text.Append(", database ").Append(Escape(database));
        }
        if (String(root, "user") is { } user)
        {
            text.Append(", user ").Append(Escape(user));
        }
        return text.ToString();
    }

    private static string DescribeCommand(JsonElement root)
    {
        var text = new StringBuilder();
        text.Append(Escape(String(root, "kind"))).Append(' ').Append(Escape(String(root, "verdict")));
        text.Append(String(root, "rule") is { } rule ? $" by rule {Escape(rule)}" : " by default");
        text.Append(", ").Append(Escape(String(root, "outcome")));
        if (String(root, "approver") is { } approver)
        {
            text.Append(" by ").Append(Escape(approver));
        }
        text.Append(": ").Append(Escape(String(root, "text")));
        if (root.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Array)
        {
            text.Append(" parameters [")
                .AppendJoin(", ", parameters.EnumerateArray().Select(p => p.ValueKind == JsonValueKind.String ? Quote(p.GetString()!) : "null"))
                .Append(']');
        }
        return text.ToString();
    }

    private static string DescribeResult(JsonElement root)
    {
        var text = new StringBuilder();
        if (String(root, "status") is { } status)
        {
            text.Append(Escape(status)).Append(": ");
        }
        text.Append(Number(root, "rows")).Append(" rows, ").Append(Number(root, "bytes")).Append(" bytes, ")
            .Append(Number(root, "durationMs")).Append(" ms");
        if (root.TryGetProperty("masked", out var masked) && masked.ValueKind == JsonValueKind.Object)
        {
            var columns = masked.EnumerateObject().Select(c => $"{Escape(c.Name)} {Escape(c.Value.GetRawText(), escapeBackslash: false)}").ToList();
            if (columns.Count > 0)
            {
                text.Append(", masked ").AppendJoin(", ", columns);
            }
        }
        return text.ToString();
    }

    // Types this replay does not know: their own fields as compact JSON.
    private static string Fields(JsonElement root)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, RecordingFormat.WriterOptions))
        {
            writer.WriteStartObject();
            foreach (var property in root.EnumerateObject())
            {
                if (!EnvelopeFields.Contains(property.Name))
                {
                    property.WriteTo(writer);
                }
            }
            writer.WriteEndObject();
        }
        // JSON already escapes quotes, backslashes and control characters; what is left to neutralise is format characters.
        return Escape(Encoding.UTF8.GetString(buffer.WrittenSpan), escapeBackslash: false);
    }

    private static string? String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Number(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetRawText() : "?";

    private static string Quote(string text) => $"\"{Escape(text).Replace("\"", "\\\"", StringComparison.Ordinal)}\"";

    /// <summary>Escapes <paramref name="text"/> for a terminal as described on <see cref="RecordingReplay"/>.</summary>
    internal static string Escape(string? text, bool escapeBackslash = true)
    {
        if (text is null)
        {
            return "?";
        }
        var builder = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            switch (rune.Value)
            {
                case '\\' when escapeBackslash:
                    builder.Append(@"\\");
                    continue;
                case '\n':
                    builder.Append(@"\n");
                    continue;
                case '\r':
                    builder.Append(@"\r");
                    continue;
                case '\t':
                    builder.Append(@"\t");
                    continue;
            }
            switch (Rune.GetUnicodeCategory(rune))
            {
                case UnicodeCategory.Control:
                case UnicodeCategory.Format:
                case UnicodeCategory.LineSeparator:
                case UnicodeCategory.ParagraphSeparator:
                case UnicodeCategory.Surrogate:
                    builder.Append(CultureInfo.InvariantCulture, $"\\u{{{rune.Value:x}}}");
                    break;
                default:
                    builder.Append(rune.ToString());
                    break;
            }
        }
        return builder.ToString();
    }
}
