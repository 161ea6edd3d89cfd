using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Wire.Benchmarks.EndToEnd;
using Wire.Gateway.Demo;

namespace Wire.Benchmarks.Soak;

/// <summary>
/// PostgreSQL load and soak (issue 10): pgbench's TPC-B-like script (<c>-c clients -j 2 -T seconds</c>, scale 10)
/// through the real <c>wire run</c> gateway with a column mask rule on <c>pgbench_accounts.abalance</c>, a content
/// detector rule and recording on. Passes when pgbench ends cleanly with no failed transaction, every client was
/// connected, the gateway's working set and descriptors stay flat, its log has no error line, and the recordings verify.
/// </summary>
internal static partial class SoakPg
{
    private const string Role = "bench";
    private const string Token = "bench-token";
    private const int Scale = 10;
    private const int MaxVerifiedFiles = 5000;

    private static readonly string Rules = """
        "rules": [
          { "name": "balances", "action": "mask", "columns": ["public.pgbench_accounts.abalance"], "style": "full" },
          { "name": "pii-content", "action": "mask", "detectors": ["email", "phone", "ssn", "card"], "style": "full" }
        ]
        """;

    public static async Task<SoakResult> RunAsync(SoakSettings settings)
    {
        SoakReport.RequireOpenFiles(settings.Clients + 200);
        string password = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var serverOptions = new LocalPostgresServerOptions { MaxConnections = settings.Clients + 50 };
        serverOptions.HbaLines.Add($"host all {Role} 127.0.0.1/32 scram-sha-256");
        await using var server = await LocalPostgresServer.StartAsync(serverOptions, default).ConfigureAwait(false);
        await server.PsqlAsync($"CREATE ROLE {Role} LOGIN PASSWORD '{password}'; CREATE DATABASE bench OWNER {Role};")
            .ConfigureAwait(false);
        var init = await ProcessRunner.RunAsync(
            "pgbench", ["-i", "-s", Number(Scale), "-q", "-h", server.Host, "-p", Number(server.Port), "-U", Role, "bench"],
            new Dictionary<string, string> { ["PGPASSWORD"] = password }, TimeSpan.FromMinutes(5)).ConfigureAwait(false);
        if (init.ExitCode != 0)
        {
            throw new InvalidOperationException("pgbench -i failed: " + init.Error);
        }

        using var recordings = SoakRecordings.Create();
        await using var wire = await WireGatewayProcess.StartAsync(server, Role, password, Token,
            Rules + ",\n" + recordings.ConfigMember,
            limits: $$"""{ "maxConnectionsPerIdentity": {{Number(settings.Clients + 100)}} }""").ConfigureAwait(false);

        var checks = new List<SoakCheck> { await CheckMaskingAsync(wire.Port).ConfigureAwait(false) };
        var warmUp = await PgbenchAsync(settings, wire.Port, settings.WarmUpClients, settings.WarmUpSeconds).ConfigureAwait(false);
        var sampler = new ProcessSampler(wire.Pid, wire.Port, server.Port);
        await sampler.WaitForNoClientsAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        long? liveBefore = await ManagedHeapProbe.LiveBytesAfterFullGcAsync(wire.Pid).ConfigureAwait(false);
        var run = await sampler.SampleWhileAsync(
            () => PgbenchAsync(settings, wire.Port, settings.Clients, settings.Seconds), settings.SampleInterval).ConfigureAwait(false);
        var after = await sampler.SettleAsync(sampler.Samples[0].OpenFiles + SoakReport.OpenFilesSlack, TimeSpan.FromSeconds(30))
            .ConfigureAwait(false);
        long? liveAfter = await ManagedHeapProbe.LiveBytesAfterFullGcAsync(wire.Pid).ConfigureAwait(false);
        var verification = await recordings.VerifyAsync(MaxVerifiedFiles).ConfigureAwait(false);

        checks.Insert(0, new SoakCheck(
            "pgbench exits 0, no client aborted, no failed transaction (warm-up and run)",
            warmUp.Clean && run.Clean && run.Transactions > 0,
            $"{run.Describe()}; warm-up: {warmUp.Describe()}"));
        checks.Insert(1, SoakReport.ConnectionsCheck(settings, sampler));
        checks.AddRange(SoakReport.ProcessChecks(settings, sampler, after, 0, ""));
        checks.Add(SoakReport.LiveHeapCheck(liveBefore, liveAfter));
        checks.Add(SoakReport.LogCheck(wire));
        checks.Add(SoakReport.RecordingCheck(verification, settings.Clients));

        var sb = new StringBuilder();
        SoakReport.AppendHeader(
            sb, $"PostgreSQL soak: pgbench {settings.Builtin}, scale {Scale}, through Wire with masking and recording", settings, wire);
        int statements = StatementsPerTransaction(settings.Builtin);
        SoakReport.AppendChecks(sb, checks);
        var samples = sampler.Samples;
        var cpu = samples[^1].Cpu - samples[0].Cpu;
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"pgbench `-b {settings.Builtin} -c {settings.Clients} -j {Threads(settings)} -T {settings.Seconds}` (simple protocol, " +
            $"{statements} statement{(statements == 1 ? "" : "s")} per transaction; `-T` includes the time the clients take to connect), " +
            $"after a {settings.WarmUpSeconds}-s warm-up with {settings.WarmUpClients} clients: {run.Tps:F0} TPS (without the initial " +
            $"connection time), {run.Transactions:N0} transactions, {run.Failed} failed, latency average {run.LatencyMs:F1} ms, initial " +
            $"connection time {run.ConnectMs:F0} ms. Wire's CPU: {cpu.TotalSeconds:F1} s, " +
            $"{(run.Transactions > 0 ? cpu.TotalMicroseconds / run.Transactions : 0):F0} µs per transaction; peak working set " +
            $"{SoakReport.Mib(samples.Max(s => s.WorkingSetBytes))} MiB.");
        sb.AppendLine();
        SoakReport.AppendRecordings(sb, recordings, verification, run.Transactions + warmUp.Transactions, "transaction (warm-up included)");
        SoakReport.AppendSamples(sb, settings, sampler, "pgbench TPS", s => RateAt(run.Progress, s.Elapsed));
        SoakReport.AppendLog(sb, wire);
        return SoakReport.Finish(sb, checks);
    }

    /// <summary>
    /// Both rules on the path: the masked column comes back as <c>*</c>, an e-mail address in a computed value is masked.
    /// </summary>
    private static async Task<SoakCheck> CheckMaskingAsync(int port)
    {
        var run = await ProcessRunner.RunAsync("psql",
            ["-X", "-A", "-t", "-q", "-h", "127.0.0.1", "-p", Number(port), "-U", Role, "-d", "bench",
             "-c", "SELECT abalance FROM pgbench_accounts WHERE aid = 1", "-c", "SELECT 'mail ada@example.com' AS note"],
            new Dictionary<string, string> { ["PGPASSWORD"] = Token }, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        string[] lines = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        bool masked = run.ExitCode == 0 && lines.Length == 2 && lines[0].Trim('*').Length == 0 && lines[0].Length > 0
            && !lines[1].Contains("ada@example.com", StringComparison.Ordinal);
        return new SoakCheck("Masking on the path (psql through Wire before the load): abalance and an e-mail address come back masked",
            masked, run.ExitCode == 0 ? $"`{string.Join("`, `", lines)}`" : $"psql exited {run.ExitCode}: {run.Error.Trim()}");
    }

    private static async Task<PgbenchRun> PgbenchAsync(SoakSettings settings, int port, int clients, int seconds)
    {
        var run = await ProcessRunner.RunAsync("pgbench",
            ["-n", "-b", settings.Builtin, "-c", Number(clients), "-j", Number(Math.Min(2, clients)), "-T", Number(seconds),
             "-P", Number((int)settings.SampleInterval.TotalSeconds), "-h", "127.0.0.1", "-p", Number(port), "-U", Role, "bench"],
            new Dictionary<string, string> { ["PGPASSWORD"] = Token }, TimeSpan.FromSeconds(seconds + 300)).ConfigureAwait(false);
        var progress = ProgressLine().Matches(run.Error)
            .Select(m => (Seconds: Parse(m.Groups[1].Value), Tps: Parse(m.Groups[2].Value)))
            .ToList();
        return new PgbenchRun(
            run.ExitCode,
            (long)Parse(TransactionsPattern().Match(run.Output).Groups[1].Value),
            (long)Parse(FailedPattern().Match(run.Output).Groups[1].Value),
            Parse(TpsPattern().Match(run.Output).Groups[1].Value),
            Parse(LatencyPattern().Match(run.Output).Groups[1].Value),
            Parse(ConnectPattern().Match(run.Output).Groups[1].Value),
            progress,
            run.Error);
    }

    private static string RateAt(List<(double Seconds, double Tps)> progress, TimeSpan elapsed)
    {
        var last = progress.LastOrDefault(p => p.Seconds <= elapsed.TotalSeconds + 0.5);
        return last.Seconds == 0 ? "-" : last.Tps.ToString("F0", CultureInfo.InvariantCulture);
    }

    private static int Threads(SoakSettings settings) => Math.Min(2, settings.Clients);

    private static int StatementsPerTransaction(string builtin) => builtin switch
    {
        "tpcb-like" => 7,
        "simple-update" => 5,
        _ => 1,
    };


    private static double Parse(string value) =>
        value.Length == 0 ? 0 : double.Parse(value, CultureInfo.InvariantCulture);

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex(@"progress: ([0-9.]+) s, ([0-9.]+) tps")]
    private static partial Regex ProgressLine();

    [GeneratedRegex(@"number of transactions actually processed: ([0-9]+)")]
    private static partial Regex TransactionsPattern();

    [GeneratedRegex(@"number of failed transactions: ([0-9]+)")]
    private static partial Regex FailedPattern();

    [GeneratedRegex(@"tps = ([0-9.]+) \(without initial connection time\)")]
    private static partial Regex TpsPattern();

    [GeneratedRegex(@"latency average = ([0-9.]+) ms")]
    private static partial Regex LatencyPattern();

    [GeneratedRegex(@"initial connection time = ([0-9.]+) ms")]
    private static partial Regex ConnectPattern();

    private sealed record PgbenchRun(
        int ExitCode, long Transactions, long Failed, double Tps, double LatencyMs, double ConnectMs,
        List<(double Seconds, double Tps)> Progress, string Error)
    {
        /// <summary>No error: exit 0, no failed transaction, no aborted client (a warm-up on a busy machine may not get to run any).</summary>
        public bool Clean => ExitCode == 0 && Failed == 0 && !Error.Contains("aborted", StringComparison.Ordinal);

        /// <summary>The counts, and pgbench's first error lines when it failed.</summary>
        public string Describe()
        {
            var errors = Error.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Where(l => !l.StartsWith("progress:", StringComparison.Ordinal))
                .Take(3);
            return string.Create(CultureInfo.InvariantCulture,
                $"exit {ExitCode}, {Transactions:N0} transactions, {Failed} failed{(Clean ? "" : ": " + string.Join(" / ", errors))}");
        }
    }
}
