using Wire.Benchmarks.Soak;

namespace Wire.Benchmarks.EndToEnd;

/// <summary>
/// <c>e2e &lt;protocol&gt; [--smoke] [--seconds N] [--rounds N]</c>: measures one protocol through Wire side by
/// side with a direct connection and the peers a user would pick, interleaved (A B C, A B C, ...), and
/// writes a markdown table to bench/results/&lt;date&gt;-&lt;protocol&gt;.md.
/// <c>e2e soak-pg|soak-http [--smoke] [--seconds N] [--clients N]</c>: load and soak (docs/reliability.md); exits 1
/// when a criterion fails.
/// </summary>
internal static class EndToEndRunner
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine("usage: e2e pg|pg-mask|http|ssh [--smoke] [--seconds N] [--rounds N] [--modes simple,extended,prepared] [--clients 1,8]");
            Console.Error.WriteLine("       e2e soak-pg|soak-http [--smoke] [--seconds N] [--clients N]");
            return 2;
        }

        var settings = EndToEndSettings.Parse(args[1..]);
        SoakResult? soak = null;
        string markdown = args[0] switch
        {
            "pg" => await PgEndToEnd.RunAsync(settings).ConfigureAwait(false),
            "pg-mask" => await PgMaskEndToEnd.RunAsync(settings).ConfigureAwait(false),
            "http" => await HttpEndToEnd.RunAsync(settings).ConfigureAwait(false),
            "ssh" => await SshEndToEnd.RunAsync(settings).ConfigureAwait(false),
            "soak-pg" => (soak = await SoakPg.RunAsync(SoakSettings.Parse(args[1..])).ConfigureAwait(false)).Markdown,
            "soak-http" => (soak = await SoakHttp.RunAsync(SoakSettings.Parse(args[1..])).ConfigureAwait(false)).Markdown,
            _ => throw new ArgumentException($"unknown workload \"{args[0]}\" (known: pg, pg-mask, http, ssh, soak-pg, soak-http)"),
        };

        Console.WriteLine(markdown);
        if (!settings.Smoke)
        {
            string directory = Path.Combine(RepositoryRoot(), "bench", "results");
            Directory.CreateDirectory(directory);
            string file = Path.Combine(directory, $"{DateTime.UtcNow:yyyy-MM-dd}-{args[0]}.md");
            await File.WriteAllTextAsync(file, markdown).ConfigureAwait(false);
            Console.WriteLine($"written to {file}");
        }

        return soak is { Passed: false } ? 1 : 0;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Wire.sln")))
            {
                return dir.FullName;
            }
        }

        return Directory.GetCurrentDirectory();
    }
}

/// <summary>How long and how often to measure, and which pgbench modes and client counts.</summary>
internal sealed record EndToEndSettings(bool Smoke, int Seconds, int Rounds, IReadOnlyList<string> Modes, IReadOnlyList<int> Clients)
{
    public static EndToEndSettings Parse(string[] args)
    {
        bool smoke = args.Contains("--smoke");
        int seconds = smoke ? 1 : 10;
        int rounds = smoke ? 1 : 3;
        IReadOnlyList<string> modes = smoke ? ["extended"] : ["simple", "extended", "prepared"];
        IReadOnlyList<int> clients = smoke ? [1, 2] : [1, 8];
        for (int i = 0; i < args.Length - 1; i++)
        {
            switch (args[i])
            {
                case "--seconds":
                    seconds = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case "--rounds":
                    rounds = int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case "--modes":
                    modes = args[i + 1].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    break;
                case "--clients":
                    clients = [.. args[i + 1].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(c => int.Parse(c, System.Globalization.CultureInfo.InvariantCulture))];
                    break;
            }
        }

        return new EndToEndSettings(smoke, seconds, rounds, modes, clients);
    }
}
