using System.Text;
using Wire.Enforcement.Masking;
using static Wire.Enforcement.Tests.Masking.MaskingTestSupport;

namespace Wire.Enforcement.Tests.Masking;

/// <summary>
/// docs/detectors.md's vector tables are the contract: every row is checked against the code, so the
/// page and the detectors cannot drift apart.
/// </summary>
public sealed class DetectorDocsTests
{
    private static readonly MaskStyle[] _columns = [MaskStyle.Full, MaskStyle.Partial, MaskStyle.Email, MaskStyle.Digits];

    [Fact]
    public void Every_detector_vector_matches_the_code()
    {
        var failures = new List<string>();
        var outcomes = new Dictionary<DetectorKinds, (int Yes, int No)>();
        foreach (var row in ReadRows().Where(r => r.Detector is not null))
        {
            var kind = row.Detector!.Value;
            Assert.True(row.Cells.Length == 6, $"line {row.Line}: expected 6 cells");
            string input = Decode(row.Cells[0]);
            bool detected = row.Cells[1] switch
            {
                "yes" => true,
                "no" => false,
                _ => throw new InvalidOperationException($"line {row.Line}: detected must be yes or no"),
            };
            var (yes, no) = outcomes.GetValueOrDefault(kind);
            outcomes[kind] = detected ? (yes + 1, no) : (yes, no + 1);

            for (int column = 0; column < _columns.Length; column++)
            {
                byte[] bytes = Encoding.UTF8.GetBytes(input);
                int hits = new ContentScanner(kind, _columns[column], DocsKey).MaskInPlace(bytes);
                string actual = Encoding.UTF8.GetString(bytes);
                string expected = detected ? Decode(row.Cells[2 + column]) : input;
                if (!detected && row.Cells[2 + column] != "—")
                {
                    failures.Add($"line {row.Line}: a row that detects nothing shows — in every style column");
                }

                if ((hits > 0) != detected)
                {
                    failures.Add($"line {row.Line} ({DetectorNames.GetName(kind)}): documented detected={detected}, code found {hits} ranges in \"{input}\"");
                    break;
                }

                if (actual != expected)
                {
                    failures.Add($"line {row.Line} ({MaskStyles.GetName(_columns[column])}): documented \"{expected}\", code gives \"{actual}\"");
                }
            }
        }

        Assert.Empty(failures);
        foreach (var kind in Enum.GetValues<DetectorKinds>().Where(k => k is not DetectorKinds.None and not DetectorKinds.All))
        {
            Assert.True(outcomes.TryGetValue(kind, out var counts), $"no vectors for {DetectorNames.GetName(kind)}");
            Assert.True(counts.Yes > 0 && counts.No > 0, $"{DetectorNames.GetName(kind)} needs rows that match and rows that do not");
        }
    }

    [Fact]
    public void Every_mask_style_vector_matches_the_code()
    {
        var rows = ReadRows().Where(r => r.Detector is null).ToList();
        Assert.NotEmpty(rows);
        var failures = new List<string>();
        foreach (var row in rows)
        {
            Assert.True(row.Cells.Length == 5, $"line {row.Line}: expected 5 cells");
            string value = Decode(row.Cells[0]);
            for (int column = 0; column < _columns.Length; column++)
            {
                string expected = Decode(row.Cells[1 + column]);
                string actual = MaskValue(value, _columns[column]);
                if (actual != expected)
                {
                    failures.Add($"line {row.Line} ({MaskStyles.GetName(_columns[column])}): documented \"{expected}\", code gives \"{actual}\"");
                }
            }
        }

        Assert.Empty(failures);
    }

    private sealed record Row(int Line, DetectorKinds? Detector, string[] Cells);

    /// <summary>
    /// The data rows of the vector tables: those with an <c>input</c> column under each <c>## `name`</c>
    /// detector heading, and the one with a <c>value</c> column under <c>## Mask styles</c> (detector null).
    /// </summary>
    private static List<Row> ReadRows()
    {
        string[] lines = File.ReadAllLines(DocsPath());
        var rows = new List<Row>();
        DetectorKinds? detector = null;
        bool inStyles = false;
        string header = "";
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                string heading = line[3..].Trim();
                inStyles = heading == "Mask styles";
                detector = heading.Length > 2 && heading[0] == '`' && heading[^1] == '`' && DetectorNames.TryParse(heading.AsSpan(1, heading.Length - 2), out var kind)
                    ? kind
                    : null;
                continue;
            }

            if (line.StartsWith("| ", StringComparison.Ordinal) && !line.StartsWith("| `", StringComparison.Ordinal))
            {
                header = line.StartsWith("| ---", StringComparison.Ordinal) ? header : line;
                continue;
            }

            bool vectors = detector is not null ? header.StartsWith("| input |", StringComparison.Ordinal)
                : inStyles && header.StartsWith("| value |", StringComparison.Ordinal);
            if (line.StartsWith("| `", StringComparison.Ordinal) && vectors)
            {
                string[] cells = line.Split('|')[1..^1].Select(c => c.Trim()).ToArray();
                rows.Add(new Row(i + 1, detector, cells));
            }
        }

        return rows;
    }

    /// <summary>A cell's code span, with <c>\n</c>, <c>\r</c>, <c>\t</c> and <c>\\</c> unescaped.</summary>
    private static string Decode(string cell)
    {
        Assert.True(cell.Length >= 2 && cell[0] == '`' && cell[^1] == '`', $"not a code span: {cell}");
        var text = new StringBuilder();
        for (int i = 1; i < cell.Length - 1; i++)
        {
            if (cell[i] == '\\' && i + 1 < cell.Length - 1)
            {
                i++;
                text.Append(cell[i] switch
                {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    '\\' => '\\',
                    _ => throw new InvalidOperationException($"unknown escape \\{cell[i]} in {cell}"),
                });
            }
            else
            {
                text.Append(cell[i]);
            }
        }

        return text.ToString();
    }

    /// <summary>docs/detectors.md, found by walking up from the test assembly to the directory that holds Wire.sln.</summary>
    private static string DocsPath()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Wire.sln")))
            {
                return Path.Combine(directory.FullName, "docs", "detectors.md");
            }
        }

        throw new InvalidOperationException("Wire.sln not found above " + AppContext.BaseDirectory);
    }
}
