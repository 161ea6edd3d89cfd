using System.Diagnostics;
using System.Globalization;
using System.Text;
using Wire.Gateway.Demo;

namespace Wire.Benchmarks.EndToEnd;

/// <summary>
/// What masking costs on a large result (issue 3: a 1M-row SELECT with two masked columns through Wire within 1.15x
/// of the same SELECT through Wire with masking off). Two gateway processes in front of one server, both inspecting
/// (<c>rules</c> present); one masks email and ssn. psql reads the whole result and discards it; runs interleave
/// (off, on, off, on, ...), medians reported.
/// </summary>
internal static class PgMaskEndToEnd
{
    private const string Role = "bench";
    private const string Token = "bench-token";
    private const string Query = "SELECT id, email, ssn, note FROM masked_bench";

    public static async Task<string> RunAsync(EndToEndSettings settings)
    {
        int rows = settings.Smoke ? 20_000 : 1_000_000;
        string password = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var serverOptions = new LocalPostgresServerOptions();
        serverOptions.HbaLines.Add($"host all {Role} 127.0.0.1/32 scram-sha-256");
        await using var server = await LocalPostgresServer.StartAsync(serverOptions, default).ConfigureAwait(false);
        await server.PsqlAsync($"CREATE ROLE {Role} LOGIN PASSWORD '{password}'; CREATE DATABASE bench OWNER {Role};").ConfigureAwait(false);
        await server.PsqlAsync($"""
            CREATE TABLE masked_bench (id int PRIMARY KEY, email text, ssn text, note text);
            INSERT INTO masked_bench SELECT g, 'user' || g || '@example.com', lpad((g % 900 + 100)::text, 3, '0') || '-45-' || lpad((g % 10000)::text, 4, '0'),
                'customer since 2019, prefers a call in the morning' FROM generate_series(1, {rows}) g;
            ALTER TABLE masked_bench OWNER TO {Role};
            VACUUM ANALYZE masked_bench;
            """, "bench").ConfigureAwait(false);

        await using var off = await WireGatewayProcess.StartAsync(server, Role, password, Token, "\"rules\": []").ConfigureAwait(false);
        await using var on = await WireGatewayProcess.StartAsync(server, Role, password, Token, """
            "rules": [ { "name": "pii", "action": "mask", "columns": ["public.masked_bench.email", "public.masked_bench.ssn"], "style": "full" } ]
            """).ConfigureAwait(false);

        var paths = new (string Name, int Port)[] { ("Wire, masking off", off.Port), ("Wire, email and ssn masked", on.Port) };
        foreach (var (_, port) in paths)
        {
            await SelectAsync(port).ConfigureAwait(false); // warm-up: JIT, catalog cache, server buffers
        }

        int rounds = Math.Max(settings.Rounds, settings.Smoke ? 1 : 5);
        var times = paths.Select(_ => new List<double>()).ToArray();
        for (int round = 0; round < rounds; round++)
        {
            for (int i = 0; i < paths.Length; i++)
            {
                times[i].Add(await SelectAsync(paths[i].Port).ConfigureAwait(false));
            }
        }

        long bytes = long.Parse((await server.PsqlAsync("SELECT sum(pg_column_size(t.*)) FROM masked_bench t", "bench").ConfigureAwait(false)).Trim(), CultureInfo.InvariantCulture);
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"### PostgreSQL: `{Query}` ({rows:N0} rows) through Wire, masking off vs on, median of {rounds} interleaved rounds");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        sb.AppendLine();
        sb.AppendLine("| path | seconds | rows/s | x masking off | rounds (s) |");
        sb.AppendLine("| --- | ---: | ---: | ---: | --- |");
        double baseline = Median(times[0]);
        for (int i = 0; i < paths.Length; i++)
        {
            double median = Median(times[i]);
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {paths[i].Name} | {median:F2} | {rows / median:N0} | {median / baseline:F2} | {string.Join(", ", times[i].Select(t => t.ToString("F2", CultureInfo.InvariantCulture)))} |");
        }
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Table data: {bytes / 1e6:F0} MB on disk (pg_column_size); goal: masked / off <= 1.15.");
        return sb.ToString();
    }

    private static async Task<double> SelectAsync(int port)
    {
        var env = new Dictionary<string, string> { ["PGPASSWORD"] = Token };
        var watch = Stopwatch.StartNew();
        var run = await ProcessRunner.RunAsync(
            "psql", ["-X", "-A", "-t", "-q", "-o", "/dev/null", "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-U", Role, "-d", "bench", "-c", Query],
            env, TimeSpan.FromMinutes(5)).ConfigureAwait(false);
        watch.Stop();
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException($"psql on port {port} failed: {run.Error}");
        }
        return watch.Elapsed.TotalSeconds;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
