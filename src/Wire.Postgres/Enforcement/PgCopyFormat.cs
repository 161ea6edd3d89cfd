using System.Text.RegularExpressions;

namespace Wire.Postgres.Enforcement;

/// <summary>
/// How a <c>COPY ... TO STDOUT</c> writes its rows, read from the statement (normalized text): the format, delimiter,
/// quote and escape, whether a header row comes first, and which relation and columns it copies (null for
/// <c>COPY (query)</c>). <see cref="Understood"/> is false when an option could not be read: then whole rows are masked.
/// </summary>
internal sealed partial record PgCopyFormat(
    bool Csv, byte Delimiter, byte Quote, byte Escape, bool Header, string? Relation, string[]? Columns, bool Understood)
{
    public static PgCopyFormat Parse(string text)
    {
        bool csv = CsvPattern().IsMatch(text);
        bool understood = true;
        byte delimiter = csv ? (byte)',' : (byte)'\t';
        byte quote = (byte)'"';
        byte? escape = null;
        foreach (Match option in OptionPattern().Matches(text))
        {
            string name = option.Groups[1].Value;
            string value = option.Groups[2].Value.Replace("''", "'", StringComparison.Ordinal);
            if (value.Length != 1 || value[0] > 127)
            {
                understood = false;
                continue;
            }
            switch (name)
            {
                case "delimiter":
                    delimiter = (byte)value[0];
                    break;
                case "quote":
                    quote = (byte)value[0];
                    break;
                case "escape":
                    escape = (byte)value[0];
                    break;
            }
        }
        if (EscapedOptionPattern().IsMatch(text))
        {
            understood = false;
        }

        string? relation = null;
        string[]? columns = null;
        var target = TargetPattern().Match(text);
        if (target.Success)
        {
            relation = target.Groups[1].Value.Replace("\"", "", StringComparison.Ordinal);
            if (target.Groups[2].Success)
            {
                columns = [.. target.Groups[2].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                    .Select(c => c.Trim('"'))];
            }
        }

        return new PgCopyFormat(csv, delimiter, quote, escape ?? quote, HeaderPattern().IsMatch(text), relation, columns, understood);
    }

    [GeneratedRegex(@"\bformat\s+'?csv'?|\)\s*csv\b|\bto\s+stdout\s+(with\s+)?csv\b|\bcsv\s*$")]
    private static partial Regex CsvPattern();

    [GeneratedRegex(@"\b(delimiter|quote|escape)\s+'((?:[^']|'')*)'")]
    private static partial Regex OptionPattern();

    // E'\t'-style option values: readable, but not worth a second string syntax here; whole rows are masked.
    [GeneratedRegex(@"\b(delimiter|quote|escape)\s+e'")]
    private static partial Regex EscapedOptionPattern();

    [GeneratedRegex(@"\bheader\b(?!\s+(false|off|0)\b)")]
    private static partial Regex HeaderPattern();

    [GeneratedRegex(@"^copy\s+((?:""[^""]*""|[\w$]+)(?:\.(?:""[^""]*""|[\w$]+))*)\s*(?:\(([^)]*)\))?\s+to\b")]
    private static partial Regex TargetPattern();
}
