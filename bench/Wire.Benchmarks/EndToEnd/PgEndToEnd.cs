using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Wire.Gateway.Demo;

namespace Wire.Benchmarks.EndToEnd;

/// <summary>
/// PostgreSQL end to end (issue 4), every path in one interleaved run: direct, HAProxy in TCP mode (the floor for any
/// proxy), pgbouncer (session pooling), Wire with inspection off, Wire with the demo's rules, and Wire with the demo's
/// rules and recording on.
/// pgbench -S at 1 and 8 clients in simple, extended and prepared mode (TPS, mean and p99 latency, the proxy's CPU per
/// transaction), the latency Wire adds per command at one client, and a 1M-row SELECT and COPY TO STDOUT (MB/s).
/// </summary>
internal static partial class PgEndToEnd
{
    private const string Role = "bench";
    private const string Token = "bench-token";

    private static readonly string DemoRules = """
        "rules": [
          { "name": "pii-columns", "action": "mask", "columns": ["public.customers.ssn", "public.customers.card_number"], "style": "partial" },
          { "name": "pii-email", "action": "mask", "columns": ["public.customers.email"], "style": "email" },
          { "name": "pii-content", "action": "mask", "detectors": ["email", "phone", "ssn", "card"], "style": "full" },
          { "name": "no-drop", "action": "deny", "statements": ["drop", "truncate"], "message": "not in the demo" },
          { "name": "unbounded-dml", "action": "review", "statements": ["delete", "update"], "noWhere": true,
            "approvers": ["dba"], "timeout": "00:00:30" }
        ]
        """;

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

        int bulkRows = settings.Smoke ? 20_000 : 1_000_000;
        await server.PsqlAsync($"""
            CREATE TABLE bulk (id int PRIMARY KEY, name text, amount numeric(12,2), created timestamptz, note text);
            INSERT INTO bulk SELECT g, 'customer ' || g, g * 1.5, timestamptz '2024-01-01' + g * interval '1 minute',
                'a note of some length for row ' || g FROM generate_series(1, {bulkRows}) g;
            ALTER TABLE bulk OWNER TO {Role};
            VACUUM ANALYZE bulk;
            """, "bench").ConfigureAwait(false);

        // Every peer, and Wire as the real gateway process configured the way an operator would.
        string recordings = Directory.CreateTempSubdirectory("wire-bench-recordings-").FullName;
        await using var haproxy = await HaProxy.TryStartAsync(server).ConfigureAwait(false);
        await using var bouncer = await PgBouncer.TryStartAsync(server, Role, password).ConfigureAwait(false);
        await using var wireOff = await WireGatewayProcess.StartAsync(server, Role, password, Token).ConfigureAwait(false);
        await using var wireRules = await WireGatewayProcess.StartAsync(server, Role, password, Token, DemoRules).ConfigureAwait(false);
        await using var wireOn = await WireGatewayProcess.StartAsync(server, Role, password, Token,
            DemoRules + $$""", "recording": { "directory": "{{recordings}}", "key": "{{Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))}}" }""")
            .ConfigureAwait(false);

        var paths = new List<BenchPath> { new("direct", server.Port, password, 0) };
        if (haproxy is not null)
        {
            paths.Add(new("HAProxy (tcp)", haproxy.Port, password, haproxy.Pid));
        }
        if (bouncer is not null)
        {
            paths.Add(new("pgbouncer (session)", bouncer.Port, password, bouncer.Pid));
        }
        paths.Add(new("Wire, inspection off", wireOff.Port, Token, wireOff.Pid));
        paths.Add(new("Wire, demo rules", wireRules.Port, Token, wireRules.Pid));
        paths.Add(new("Wire, demo rules + recording", wireOn.Port, Token, wireOn.Pid));

        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"Machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}, PostgreSQL server and clients on the same cores; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        sb.AppendLine();
        if (haproxy is null || bouncer is null)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"Missing peers (apt-get install haproxy pgbouncer): {(haproxy is null ? "haproxy " : "")}{(bouncer is null ? "pgbouncer" : "")}");
            sb.AppendLine();
        }

        var singleClient = new Dictionary<(string Mode, string Path), PgbenchResult>();
        foreach (int clients in settings.Clients)
        {
            foreach (string mode in settings.Modes)
            {
                var results = await MeasurePgbenchAsync(server.Host, paths, clients, mode, settings).ConfigureAwait(false);
                AppendPgbench(sb, settings, clients, mode, paths, results);
                if (clients == 1)
                {
                    foreach (var path in paths)
                    {
                        singleClient[(mode, path.Name)] = MedianResult(results[path.Name]);
                    }
                }
            }
        }

        if (singleClient.Count > 0)
        {
            AppendAddedLatency(sb, settings, paths, singleClient);
        }

        await AppendBulkAsync(sb, settings, server, paths, bulkRows).ConfigureAwait(false);
        try
        {
            Directory.Delete(recordings, recursive: true);
        }
        catch (IOException)
        {
        }
        return sb.ToString();
    }

    private static async Task<Dictionary<string, List<PgbenchResult>>> MeasurePgbenchAsync(
        string host, List<BenchPath> paths, int clients, string mode, EndToEndSettings settings)
    {
        var results = paths.ToDictionary(p => p.Name, _ => new List<PgbenchResult>());

        // Warm up every path (JIT, caches, prepared statements) before measuring.
        foreach (var path in paths)
        {
            await PgbenchAsync(host, path, clients, mode, Math.Min(settings.Seconds, 2)).ConfigureAwait(false);
        }

        for (int round = 0; round < settings.Rounds; round++)
        {
            foreach (var path in paths)
            {
                var cpuBefore = path.Pid > 0 ? ProcessCpu.Read(path.Pid) : TimeSpan.Zero;
                var result = await PgbenchAsync(host, path, clients, mode, settings.Seconds).ConfigureAwait(false);
                var cpu = path.Pid > 0 ? ProcessCpu.Read(path.Pid) - cpuBefore : TimeSpan.Zero;
                results[path.Name].Add(result with { CpuMicrosPerTransaction = result.Transactions > 0 ? cpu.TotalMicroseconds / result.Transactions : 0 });
            }
        }
        return results;
    }

    private static async Task<PgbenchResult> PgbenchAsync(string host, BenchPath path, int clients, string mode, int seconds)
    {
        // -l: one line per transaction with its latency (µs), for percentiles pgbench does not print.
        string logs = Directory.CreateTempSubdirectory("wire-pgbench-log-").FullName;
        try
        {
            var env = new Dictionary<string, string> { ["PGPASSWORD"] = path.Password };
            var run = await ProcessRunner.RunAsync(
                "pgbench",
                ["-S", "-n", "-M", mode, "-c", Port(clients), "-j", Port(Math.Min(clients, 2)), "-T", Port(seconds),
                 "-l", "--log-prefix", Path.Combine(logs, "tx"), "-h", host, "-p", Port(path.Port), "-U", Role, "bench"],
                env,
                TimeSpan.FromSeconds(seconds + 60)).ConfigureAwait(false);
            if (run.ExitCode != 0)
            {
                throw new InvalidOperationException($"pgbench through {path.Name} failed: {run.Error}");
            }

            double tps = double.Parse(TpsPattern().Match(run.Output).Groups[1].Value, CultureInfo.InvariantCulture);
            double latency = double.Parse(LatencyPattern().Match(run.Output).Groups[1].Value, CultureInfo.InvariantCulture);
            long transactions = long.Parse(TransactionsPattern().Match(run.Output).Groups[1].Value, CultureInfo.InvariantCulture);
            var latencies = new List<double>();
            foreach (var file in Directory.EnumerateFiles(logs))
            {
                foreach (var line in File.ReadLines(file))
                {
                    var fields = line.Split(' ');
                    if (fields.Length >= 3 && double.TryParse(fields[2], NumberStyles.Float, CultureInfo.InvariantCulture, out double micros))
                    {
                        latencies.Add(micros / 1000.0);
                    }
                }
            }
            latencies.Sort();
            return new PgbenchResult(tps, latency, Percentile(latencies, 0.50), Percentile(latencies, 0.99), transactions, 0);
        }
        finally
        {
            Directory.Delete(logs, recursive: true);
        }
    }

    private static void AppendPgbench(StringBuilder sb, EndToEndSettings settings, int clients, string mode, List<BenchPath> paths,
        Dictionary<string, List<PgbenchResult>> results)
    {
        double directTps = Stats.Median(results["direct"].Select(r => r.Tps));
        sb.AppendLine(CultureInfo.InvariantCulture, $"### pgbench -S -M {mode} -c {clients} -T {settings.Seconds}, median of {settings.Rounds} interleaved rounds");
        sb.AppendLine();
        sb.AppendLine("| path | TPS | x direct | mean (ms) | p99 (ms) | proxy CPU µs/txn | rounds (TPS) |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | --- |");
        foreach (var path in paths)
        {
            var r = results[path.Name];
            double tps = Stats.Median(r.Select(x => x.Tps));
            string cpu = path.Pid == 0 ? "-" : Stats.Median(r.Select(x => x.CpuMicrosPerTransaction)).ToString("F1", CultureInfo.InvariantCulture);
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {path.Name} | {tps:F0} | {tps / directTps:F2} | {Stats.Median(r.Select(x => x.LatencyMs)):F3} | {Stats.Median(r.Select(x => x.P99Ms)):F3} | {cpu} | {string.Join(", ", r.Select(x => x.Tps.ToString("F0", CultureInfo.InvariantCulture)))} |");
        }
        sb.AppendLine();
    }

    private static void AppendAddedLatency(StringBuilder sb, EndToEndSettings settings, List<BenchPath> paths,
        Dictionary<(string Mode, string Path), PgbenchResult> singleClient)
    {
        sb.AppendLine("### Latency added per command, one client (path minus direct, median rounds)");
        sb.AppendLine();
        sb.AppendLine("| path | mode | p50 added (µs) | p99 added (µs) |");
        sb.AppendLine("| --- | --- | ---: | ---: |");
        foreach (string mode in settings.Modes)
        {
            var direct = singleClient[(mode, "direct")];
            foreach (var path in paths.Where(p => p.Name != "direct"))
            {
                var r = singleClient[(mode, path.Name)];
                sb.AppendLine(CultureInfo.InvariantCulture,
                    $"| {path.Name} | {mode} | {(r.P50Ms - direct.P50Ms) * 1000:F0} | {(r.P99Ms - direct.P99Ms) * 1000:F0} |");
            }
        }
        sb.AppendLine();
    }

    private static async Task AppendBulkAsync(StringBuilder sb, EndToEndSettings settings, LocalPostgresServer server, List<BenchPath> paths, int rows)
    {
        (string Name, string Sql)[] workloads =
        [
            ("SELECT", "SELECT id, name, amount, created, note FROM bulk"),
            ("COPY TO STDOUT", "COPY bulk TO STDOUT"),
        ];
        // The data volume: the text the client receives (the same through every path).
        var sizes = new Dictionary<string, long>();
        foreach (var (name, sql) in workloads)
        {
            string file = Path.GetTempFileName();
            await PsqlAsync(server.Host, paths[0], sql, file).ConfigureAwait(false);
            sizes[name] = new FileInfo(file).Length;
            File.Delete(file);
        }

        var times = new Dictionary<(string, string), List<double>>();
        int rounds = settings.Rounds;
        for (int round = 0; round < rounds + 1; round++)
        {
            foreach (var (name, sql) in workloads)
            {
                foreach (var path in paths)
                {
                    double seconds = await PsqlAsync(server.Host, path, sql, "/dev/null").ConfigureAwait(false);
                    if (round > 0)
                    {
                        // Round 0 warms up.
                        (times.TryGetValue((name, path.Name), out var list) ? list : times[(name, path.Name)] = []).Add(seconds);
                    }
                }
            }
        }

        sb.AppendLine(CultureInfo.InvariantCulture, $"### {rows:N0} rows through psql (SELECT and COPY TO STDOUT), median of {rounds} interleaved rounds");
        sb.AppendLine();
        sb.AppendLine("| workload | path | seconds | MB/s | x direct |");
        sb.AppendLine("| --- | --- | ---: | ---: | ---: |");
        foreach (var (name, _) in workloads)
        {
            double direct = Stats.Median(times[(name, "direct")]);
            foreach (var path in paths)
            {
                double median = Stats.Median(times[(name, path.Name)]);
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {path.Name} | {median:F2} | {sizes[name] / 1e6 / median:F0} | {median / direct:F2} |");
            }
        }
        sb.AppendLine();
    }

    private static async Task<double> PsqlAsync(string host, BenchPath path, string sql, string output)
    {
        var env = new Dictionary<string, string> { ["PGPASSWORD"] = path.Password };
        var watch = Stopwatch.StartNew();
        var run = await ProcessRunner.RunAsync(
            "psql", ["-X", "-A", "-t", "-q", "-o", output, "-h", host, "-p", Port(path.Port), "-U", Role, "-d", "bench", "-c", sql],
            env, TimeSpan.FromMinutes(5)).ConfigureAwait(false);
        watch.Stop();
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException($"psql through {path.Name} failed: {run.Error}");
        }
        return watch.Elapsed.TotalSeconds;
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static PgbenchResult MedianResult(List<PgbenchResult> results) => new(
        Stats.Median(results.Select(r => r.Tps)), Stats.Median(results.Select(r => r.LatencyMs)), Stats.Median(results.Select(r => r.P50Ms)),
        Stats.Median(results.Select(r => r.P99Ms)), (long)Stats.Median(results.Select(r => (double)r.Transactions)), Stats.Median(results.Select(r => r.CpuMicrosPerTransaction)));

    private static string Port(int value) => value.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"tps = ([0-9.]+) \(without initial connection time\)")]
    private static partial Regex TpsPattern();

    [GeneratedRegex(@"latency average = ([0-9.]+) ms")]
    private static partial Regex LatencyPattern();

    [GeneratedRegex(@"number of transactions actually processed: ([0-9]+)")]
    private static partial Regex TransactionsPattern();

    private sealed record BenchPath(string Name, int Port, string Password, int Pid);

    private sealed record PgbenchResult(double Tps, double LatencyMs, double P50Ms, double P99Ms, long Transactions, double CpuMicrosPerTransaction);
}
