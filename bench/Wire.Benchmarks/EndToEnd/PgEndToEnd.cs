using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Wire.Gateway.Demo;

namespace Wire.Benchmarks.EndToEnd;

/// <summary>
/// PostgreSQL end to end: pgbench -S through each path, interleaved in one run: direct, pgbouncer
/// (session pooling, Debian package) and Wire (in this process, enforcement as of this build).
/// </summary>
internal static partial class PgEndToEnd
{
    private const string Role = "bench";
    private const string Token = "bench-token";

    public static async Task<string> RunAsync(EndToEndSettings settings)
    {
        string password = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var serverOptions = new LocalPostgresServerOptions { MaxConnections = 100 };
        serverOptions.HbaLines.Add($"host all {Role} 127.0.0.1/32 scram-sha-256");
        await using var server = await LocalPostgresServer.StartAsync(serverOptions, default).ConfigureAwait(false);
        await server.PsqlAsync($"CREATE ROLE {Role} LOGIN PASSWORD '{password}'; CREATE DATABASE bench OWNER {Role};").ConfigureAwait(false);
        var env = new Dictionary<string, string> { ["PGPASSWORD"] = password };
        var init = await ProcessRunner.RunAsync(
            "pgbench", ["-i", "-s", "1", "-q", "-h", server.Host, "-p", Port(server.Port), "-U", Role, "bench"], env, TimeSpan.FromMinutes(2))
            .ConfigureAwait(false);
        if (init.ExitCode != 0)
        {
            throw new InvalidOperationException("pgbench -i failed: " + init.Error);
        }

        // Wire runs as the real gateway process, configured the way an operator would.
        await using var wire = await WireGatewayProcess.StartAsync(server, Role, password, Token).ConfigureAwait(false);

        await using var bouncer = await PgBouncer.TryStartAsync(server, Role, password).ConfigureAwait(false);

        // Each path's proxy process, for CPU time per transaction (0: none).
        var paths = new List<(string Name, int Port, string Password, int Pid)>
        {
            ("direct", server.Port, password, 0),
        };
        if (bouncer is not null)
        {
            paths.Add(("pgbouncer (session)", bouncer.Port, password, bouncer.Pid));
        }

        paths.Add(("Wire", wire.Port, Token, wire.Pid));

        int clients = settings.Smoke ? 2 : 8;
        string mode = "extended";
        var results = paths.ToDictionary(p => p.Name, _ => new List<PgbenchResult>());

        // Warm up every path (JIT, caches) before measuring.
        foreach (var path in paths)
        {
            await PgbenchAsync(server.Host, path.Port, path.Password, clients, mode, Math.Min(settings.Seconds, 3)).ConfigureAwait(false);
        }

        for (int round = 0; round < settings.Rounds; round++)
        {
            foreach (var path in paths)
            {
                var cpuBefore = path.Pid > 0 ? ProcessCpu.Read(path.Pid) : TimeSpan.Zero;
                var result = await PgbenchAsync(server.Host, path.Port, path.Password, clients, mode, settings.Seconds).ConfigureAwait(false);
                var cpu = path.Pid > 0 ? ProcessCpu.Read(path.Pid) - cpuBefore : TimeSpan.Zero;
                results[path.Name].Add(result with { CpuMicrosPerTransaction = result.Transactions > 0 ? cpu.TotalMicroseconds / result.Transactions : 0 });
            }
        }

        return Report(settings, clients, mode, paths.Select(p => p.Name).ToList(), results, bouncer is null);
    }

    private static async Task<PgbenchResult> PgbenchAsync(string host, int port, string password, int clients, string mode, int seconds)
    {
        var env = new Dictionary<string, string> { ["PGPASSWORD"] = password };
        var run = await ProcessRunner.RunAsync(
            "pgbench",
            ["-S", "-n", "-M", mode, "-c", Port(clients), "-j", Port(Math.Min(clients, 2)), "-T", Port(seconds),
             "-h", host, "-p", Port(port), "-U", Role, "bench"],
            env,
            TimeSpan.FromSeconds(seconds + 60)).ConfigureAwait(false);
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException($"pgbench on port {port} failed: {run.Error}");
        }

        double tps = double.Parse(TpsPattern().Match(run.Output).Groups[1].Value, CultureInfo.InvariantCulture);
        double latency = double.Parse(LatencyPattern().Match(run.Output).Groups[1].Value, CultureInfo.InvariantCulture);
        long transactions = long.Parse(TransactionsPattern().Match(run.Output).Groups[1].Value, CultureInfo.InvariantCulture);
        return new PgbenchResult(tps, latency, transactions, 0);
    }

    private static string Report(EndToEndSettings settings, int clients, string mode, List<string> names,
        Dictionary<string, List<PgbenchResult>> results, bool bouncerMissing)
    {
        double Median(IEnumerable<double> values)
        {
            var sorted = values.Order().ToArray();
            return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        }

        double directTps = Median(results["direct"].Select(r => r.Tps));
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"### PostgreSQL: pgbench -S -M {mode} -c {clients} -T {settings.Seconds}, median of {settings.Rounds} interleaved rounds");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        sb.AppendLine();
        sb.AppendLine("| path | TPS | x direct | mean latency (ms) | proxy CPU µs/txn | rounds (TPS) |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: | --- |");
        foreach (var name in names)
        {
            var r = results[name];
            double tps = Median(r.Select(x => x.Tps));
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {name} | {tps:F0} | {tps / directTps:F2} | {Median(r.Select(x => x.LatencyMs)):F3} | {(name == "direct" ? "-" : Median(r.Select(x => x.CpuMicrosPerTransaction)).ToString("F1", CultureInfo.InvariantCulture))} | {string.Join(", ", r.Select(x => x.Tps.ToString("F0", CultureInfo.InvariantCulture)))} |");
        }

        if (bouncerMissing)
        {
            sb.AppendLine();
            sb.AppendLine("pgbouncer was not found (apt-get install pgbouncer); its row is missing.");
        }

        return sb.ToString();
    }

    private static string Port(int value) => value.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"tps = ([0-9.]+) \(without initial connection time\)")]
    private static partial Regex TpsPattern();

    [GeneratedRegex(@"latency average = ([0-9.]+) ms")]
    private static partial Regex LatencyPattern();

    [GeneratedRegex(@"number of transactions actually processed: ([0-9]+)")]
    private static partial Regex TransactionsPattern();

    private sealed record PgbenchResult(double Tps, double LatencyMs, long Transactions, double CpuMicrosPerTransaction);
}
