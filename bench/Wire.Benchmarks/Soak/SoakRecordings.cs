using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Wire.Benchmarks.EndToEnd;

namespace Wire.Benchmarks.Soak;

/// <summary>
/// Recording on for a soak run: a temp directory and a random key for the gateway's <c>recording</c> section, and
/// afterwards the files counted and checked with <c>wire verify</c>.
/// </summary>
internal sealed partial class SoakRecordings : IDisposable
{
    private readonly string _root;
    private readonly string _key = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));

    private SoakRecordings(string root)
    {
        _root = root;
        Directory = Path.Combine(root, "recordings");
    }

    /// <summary>Where the gateway writes one <c>SESSION.jsonl</c> per session.</summary>
    public string Directory { get; }

    /// <summary>The gateway's <c>recording</c> config member (no trailing comma).</summary>
    public string ConfigMember => $$"""
        "recording": { "directory": "{{Directory}}", "key": "{{_key}}" }
        """;

    public static SoakRecordings Create() => new(System.IO.Directory.CreateTempSubdirectory("wire-soak-recordings-").FullName);

    /// <summary>The recordings written so far and their total size.</summary>
    public (int Files, long Bytes) Measure()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return (0, 0);
        }
        var files = new DirectoryInfo(Directory).EnumerateFiles("*", SearchOption.AllDirectories).ToList();
        return (files.Count, files.Sum(f => f.Length));
    }

    /// <summary>
    /// Runs <c>wire verify</c> on every recording, or on an even sample of <paramref name="maxFiles"/> of them (symbolic
    /// links in a directory of their own) when there are more.
    /// </summary>
    public async Task<RecordingVerification> VerifyAsync(int maxFiles)
    {
        string config = Path.Combine(_root, "verify.json");
        await File.WriteAllTextAsync(config, "{ " + ConfigMember + " }").ConfigureAwait(false);
        var files = System.IO.Directory.Exists(Directory)
            ? System.IO.Directory.EnumerateFiles(Directory, "*.jsonl", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList()
            : [];
        if (files.Count == 0)
        {
            return new RecordingVerification(0, 0, 0, 0, 0, 0, TimeSpan.Zero, ["no recordings were written"]);
        }

        string target = Directory;
        if (files.Count > maxFiles)
        {
            target = Path.Combine(_root, "sample");
            System.IO.Directory.CreateDirectory(target);
            for (int i = 0; i < maxFiles; i++)
            {
                string file = files[(int)((long)i * files.Count / maxFiles)];
                File.CreateSymbolicLink(Path.Combine(target, Path.GetFileName(file)), file);
            }
        }

        var watch = Stopwatch.StartNew();
        var run = await ProcessRunner.RunAsync(
            "dotnet", [Path.Combine(AppContext.BaseDirectory, "wire.dll"), "verify", target, "--config", config],
            null, TimeSpan.FromMinutes(30)).ConfigureAwait(false);
        watch.Stop();

        int ok = 0;
        long records = 0;
        long lost = 0;
        var problems = new List<string>();
        foreach (string line in run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var match = OkLine().Match(line);
            if (match.Success)
            {
                ok++;
                records += long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
                lost += match.Groups[2].Success ? long.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture) : 0;
            }
            else
            {
                problems.Add(line.Trim());
            }
        }
        if (run.ExitCode != 0 && problems.Count == 0)
        {
            problems.Add($"wire verify exited {run.ExitCode}: {run.Error.Trim()}");
        }

        int checkedFiles = Math.Min(files.Count, maxFiles);
        return new RecordingVerification(files.Count, checkedFiles, ok, checkedFiles - ok, records, lost, watch.Elapsed, problems);
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [GeneratedRegex(@"^OK .* \((\d+) records(?:, (\d+) lost)?\)\s*$")]
    private static partial Regex OkLine();
}
