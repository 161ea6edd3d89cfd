using System.Text.RegularExpressions;
using Wire.Testing;

namespace Wire.Postgres.Tests.Packaging;

/// <summary>
/// docs/embedding.md shows only code that compiles: each of its C# blocks must be lines of a file of samples/, which
/// <see cref="PackagesTests"/> builds against the packed packages and runs.
/// </summary>
public sealed partial class EmbeddingDocsTests
{
    [GeneratedRegex(@"```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [Fact]
    public void EveryCodeBlockIsPartOfTheBuiltSample()
    {
        string root = WireProcess.RepositoryRoot();
        string doc = File.ReadAllText(Path.Combine(root, "docs", "embedding.md")).ReplaceLineEndings("\n");
        var samples = Directory.EnumerateFiles(Path.Combine(root, "samples"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToDictionary(f => Path.GetRelativePath(root, f), f => Lines(File.ReadAllText(f)));

        var blocks = CSharpBlock().Matches(doc).Select(m => Lines(m.Groups[1].Value)).ToList();
        Assert.True(blocks.Count >= 4, $"docs/embedding.md has {blocks.Count} C# blocks");
        foreach (var block in blocks)
        {
            Assert.True(samples.Values.Any(lines => Contains(lines, block)),
                "this block of docs/embedding.md is in no file of samples/:\n" + string.Join('\n', block));
        }
    }

    // Indentation and blank lines may differ (a block quotes part of a method); the lines themselves may not.
    private static string[] Lines(string text) =>
        [.. text.ReplaceLineEndings("\n").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0)];

    private static bool Contains(string[] lines, string[] block)
    {
        for (int start = 0; start + block.Length <= lines.Length; start++)
        {
            if (lines.AsSpan(start, block.Length).SequenceEqual(block))
            {
                return true;
            }
        }
        return false;
    }
}
