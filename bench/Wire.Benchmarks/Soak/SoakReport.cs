using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Wire.Benchmarks.EndToEnd;

namespace Wire.Benchmarks.Soak;

/// <summary>What both soak workloads judge and print: the gateway's memory, descriptors, log and recordings.</summary>
internal static partial class SoakReport
{
    /// <summary>Descriptors the gateway may gain between the reference sample and the end, or keep after the load.</summary>
    public const int OpenFilesSlack = 10;

    /// <summary>How much the working set may grow from the reference sample to the end (the issue: within 10 %).</summary>
    public const double MemoryGrowth = 0.10;

    /// <summary>
    /// Fails early, with the reason, when this process (and so its children) may not open <paramref name="needed"/> files.
    /// </summary>
    public static void RequireOpenFiles(int needed)
    {
        long limit = OpenFileLimit("self");
        if (limit < needed)
        {
            throw new InvalidOperationException(
                $"the open-file limit is {limit}, the soak needs {needed} (raise it: ulimit -n {Math.Max(needed, 65536)})");
        }
    }

    /// <summary>The soft <c>Max open files</c> of a process (<c>self</c> or a pid); .NET raises its own to the hard limit.</summary>
    public static long OpenFileLimit(string process)
    {
        foreach (string line in File.ReadLines($"/proc/{process}/limits"))
        {
            if (line.StartsWith("Max open files", StringComparison.Ordinal))
            {
                string soft = line["Max open files".Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                return soft == "unlimited" ? long.MaxValue : long.Parse(soft, CultureInfo.InvariantCulture);
            }
        }
        return 0;
    }

    public static void AppendHeader(StringBuilder sb, string title, SoakSettings settings, WireGatewayProcess wire)
    {
        sb.AppendLine(CultureInfo.InvariantCulture, $"### {title}");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"{(settings.Smoke ? "Smoke run (CI). " : "")}{settings.Clients:N0} clients for {settings.Seconds} s. Machine: " +
            $"{Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}; " +
            $"the load generator, the server and Wire share the cores; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC. Wire's open-file limit: " +
            $"{OpenFileLimit(wire.Pid.ToString(CultureInfo.InvariantCulture)):N0}.");
        sb.AppendLine();
    }

    /// <summary>
    /// The memory and descriptor criteria: the peak of the last window against the peak of the first (see
    /// <see cref="Windows"/>), and descriptors after the load against the baseline. Peaks, because the working set of a
    /// busy .NET process is a sawtooth (each GC frees what the requests allocated): a leak raises the peaks, the sawtooth
    /// does not, while two single samples may land one in a trough and one on a crest.
    /// </summary>
    /// <param name="afterSlack">
    /// Descriptors the gateway may hold after the load beyond the baseline and <see cref="OpenFilesSlack"/> (an idle upstream pool).
    /// </param>
    /// <param name="socketLimit">
    /// 0: judge all descriptors under load. Otherwise the gateway opens and closes upstream connections with the load (a
    /// pool): judge the descriptors other than sockets, and check that the sockets never exceed this many.
    /// </param>
    public static List<SoakCheck> ProcessChecks(
        SoakSettings settings, ProcessSampler sampler, ProcessSample? after, int afterSlack, string afterSlackReason, int socketLimit = 0)
    {
        var checks = new List<SoakCheck>();
        var samples = sampler.Samples;
        var baseline = samples[0];
        checks.Add(new SoakCheck("Wire ran to the end (its process never left /proc)", !sampler.ProcessGone && after is not null,
            sampler.ProcessGone ? "the process was gone at a sample" : $"{samples.Count} samples"));
        var (first, last) = Windows(settings, samples);
        if (first.Count == 0)
        {
            checks.Add(new SoakCheck("samples under load", false, "none were taken"));
            return checks;
        }

        var reference = first.MaxBy(s => s.WorkingSetBytes)!;
        var end = last.MaxBy(s => s.WorkingSetBytes)!;
        double growth = (double)end.WorkingSetBytes / reference.WorkingSetBytes - 1;
        long allowedBytes = (long)(reference.WorkingSetBytes * (1 + MemoryGrowth)) + settings.MemorySlackBytes;
        checks.Add(new SoakCheck(
            $"Working set: the last {WindowName(settings)}'s peak at most {MemoryGrowth:P0}" +
            $"{(settings.MemorySlackBytes > 0 ? $" + {Mib(settings.MemorySlackBytes)} MiB (smoke)" : "")} above the first's",
            end.WorkingSetBytes <= allowedBytes,
            $"{Mib(reference.WorkingSetBytes)} MiB (t = {Seconds(reference)} s) -> {Mib(end.WorkingSetBytes)} MiB " +
            $"(t = {Seconds(end)} s), {growth:+0.0%;-0.0%}; heap (RssAnon) peaks {Mib(first.Max(s => s.AnonymousBytes))} -> " +
            $"{Mib(last.Max(s => s.AnonymousBytes))} MiB"));
        if (socketLimit == 0)
        {
            int before = first.Max(s => s.OpenFiles);
            int atEnd = last.Max(s => s.OpenFiles);
            checks.Add(new SoakCheck(
                $"Open descriptors: the last {WindowName(settings)}'s peak at most the first's + {OpenFilesSlack}",
                atEnd <= before + OpenFilesSlack,
                $"{before:N0} -> {atEnd:N0}"));
        }
        else
        {
            int before = first.Max(s => s.OpenFilesBesidesSockets);
            int atEnd = last.Max(s => s.OpenFilesBesidesSockets);
            checks.Add(new SoakCheck(
                $"Open descriptors other than sockets (recording files, epoll, pipes): the last {WindowName(settings)}'s peak " +
                $"at most the first's + {OpenFilesSlack}",
                atEnd <= before + OpenFilesSlack,
                $"{before:N0} -> {atEnd:N0} (all descriptors: {first.Max(s => s.OpenFiles):N0} -> {last.Max(s => s.OpenFiles):N0})"));
            var peak = samples.MaxBy(s => s.Sockets)!;
            checks.Add(new SoakCheck(
                $"Sockets never above {socketLimit:N0} (a client and an upstream connection per client, the idle pool, the listener)",
                peak.Sockets <= socketLimit,
                $"at most {peak.Sockets:N0} (t = {Seconds(peak)} s: {peak.UpstreamConnections:N0} upstream connections, " +
                $"{peak.UnconnectedSockets:N0} in no TCP connection)"));
        }

        int allowed = baseline.OpenFiles + OpenFilesSlack + afterSlack;
        checks.Add(new SoakCheck(
            $"Open descriptors after the load back to the baseline's + {OpenFilesSlack}" +
            $"{(afterSlack > 0 ? $" + {afterSlack} ({afterSlackReason})" : "")}",
            after is not null && after.OpenFiles <= allowed,
            after is null ? "no sample"
                : $"baseline {baseline.OpenFiles:N0}, peak {samples.Max(s => s.OpenFiles):N0}, after {after.OpenFiles:N0} " +
                  $"(at most {allowed:N0})"));
        return checks;
    }

    /// <summary>
    /// The first and last windows the memory and descriptor criteria compare, each <see cref="SoakSettings.ReferenceTime"/>
    /// long (a minute; a fifth of runs under 5 minutes), at the two ends of the steady part of the load: the samples at
    /// which every client was connected (all samples under load when that never happened).
    /// </summary>
    public static (List<ProcessSample> First, List<ProcessSample> Last) Windows(SoakSettings settings, IReadOnlyList<ProcessSample> samples)
    {
        var load = samples.Where(s => s.UnderLoad).ToList();
        var steady = load.Where(s => s.ClientConnections >= settings.Clients).ToList();
        if (steady.Count == 0)
        {
            steady = load;
        }
        if (steady.Count == 0)
        {
            return ([], []);
        }

        var opened = steady[0].Elapsed;
        var closed = steady[^1].Elapsed;
        return (
            [.. steady.Where(s => s.Elapsed <= opened + settings.ReferenceTime)],
            [.. steady.Where(s => s.Elapsed >= closed - settings.ReferenceTime)]);
    }

    private static string WindowName(SoakSettings settings) => settings.ReferenceTime == TimeSpan.FromMinutes(1) ? "minute" : "fifth";

    /// <summary>
    /// How much the live managed heap may have grown when the load is over: 10 % and 8 MiB, for what the process keeps
    /// for reuse (the shared and per-thread ArrayPool buffers of 64 KiB to 1 MiB, caches that filled). At 1,000 sessions
    /// that still catches 8 KiB left behind per session.
    /// </summary>
    public const double LiveHeapGrowth = 0.10;

    private const long LiveHeapSlackBytes = 8L * 1024 * 1024;

    /// <summary>
    /// The live managed heap (after a forced full GC, <see cref="ManagedHeapProbe"/>) once every session has ended, against
    /// the one before the load: what the sessions left reachable. Unlike the working set, this does not depend on when the
    /// GC last ran a gen2 collection.
    /// </summary>
    public static SoakCheck LiveHeapCheck(long? before, long? after)
    {
        long allowed = before is { } b ? (long)(b * (1 + LiveHeapGrowth)) + LiveHeapSlackBytes : 0;
        return new SoakCheck(
            $"Live managed heap after the load (full GC forced, sessions ended) at most {LiveHeapGrowth:P0} + " +
            $"{Mib(LiveHeapSlackBytes)} MiB above the one before",
            before is not null && after is not null && after <= allowed,
            before is null || after is null ? "the gateway's diagnostic port did not answer"
                : $"{Mib(before.Value)} MiB -> {Mib(after.Value)} MiB (at most {Mib(allowed)})");
    }

    /// <summary>All clients connected: the most established connections to Wire's port at any sample.</summary>
    public static SoakCheck ConnectionsCheck(SoakSettings settings, ProcessSampler sampler)
    {
        int peak = sampler.Samples.Max(s => s.ClientConnections);
        return new SoakCheck($"All {settings.Clients:N0} clients connected at once", peak >= settings.Clients,
            $"at most {peak:N0} established connections to Wire's port");
    }

    /// <summary>No error-level line in Wire's log (its stdout) and nothing but log lines from it (a crash prints a stack).</summary>
    public static SoakCheck LogCheck(WireGatewayProcess wire)
    {
        var (errors, warnings) = Classify(wire);
        return new SoakCheck("No error or critical line in Wire's log, nothing else printed", errors.Count == 0,
            $"{errors.Count} error lines, {warnings.Count} warnings, {wire.LineCount} lines in all");
    }

    public static SoakCheck RecordingCheck(RecordingVerification verification, int expected)
    {
        string sample = verification.Checked < verification.Files ? $" (an even sample of {verification.Checked:N0})" : "";
        return new SoakCheck(
            $"At least {expected:N0} recordings; those checked{sample} verify with `wire verify`, none with lost records",
            verification.Files >= expected && verification.Checked > 0 && verification.Bad == 0 && verification.Lost == 0,
            $"{verification.Files:N0} files, {verification.Ok:N0} of {verification.Checked:N0} OK, {verification.Records:N0} records, " +
            $"{verification.Lost} lost, verified in {verification.Duration.TotalSeconds:F1} s");
    }

    public static void AppendRecordings(
        StringBuilder sb, SoakRecordings recordings, RecordingVerification verification, long work, string unit)
    {
        var (files, bytes) = recordings.Measure();
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"Recordings: {files:N0} files, {bytes / 1e6:F1} MB ({(work > 0 ? bytes / (double)work : 0):F0} bytes per {unit}); " +
            $"`wire verify` on {(verification.Checked < verification.Files ? "an even sample of" : "all")} {verification.Checked:N0}: " +
            $"{verification.Ok:N0} OK, {verification.Bad} bad, {verification.Records:N0} records, {verification.Lost} lost, " +
            $"{verification.Duration.TotalSeconds:F1} s.");
        foreach (string problem in verification.Problems.Take(5))
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"    {problem}");
        }
        sb.AppendLine();
    }

    /// <summary>The time series: a row per minute (runs of 4 minutes or more) or per tenth of the run, plus the marked samples.</summary>
    /// <param name="rate">The load generator's rate at a sample (pgbench's progress), or null when there is none.</param>
    public static void AppendSamples(
        StringBuilder sb, SoakSettings settings, ProcessSampler sampler, string? rateHeader, Func<ProcessSample, string>? rate)
    {
        var samples = sampler.Samples;
        var (first, last) = Windows(settings, samples);
        var reference = first.MaxBy(s => s.WorkingSetBytes);
        var end = last.MaxBy(s => s.WorkingSetBytes);
        var firstSteady = samples.FirstOrDefault(s => s.UnderLoad && s.ClientConnections >= settings.Clients);
        var lastSteady = samples.LastOrDefault(s => s.UnderLoad && s.ClientConnections >= settings.Clients);
        bool upstream = samples.Any(s => s.UpstreamConnections > 0);
        bool unconnected = samples.Any(s => s.UnconnectedSockets > 1);
        int interval = (int)settings.SampleInterval.TotalSeconds;
        int every = settings.Seconds >= 240 ? 60 : Math.Max(interval, settings.Seconds / 10 / interval * interval);

        sb.AppendLine(CultureInfo.InvariantCulture, $"Wire's process, sampled every {interval} s (a row every {every} s):");
        sb.AppendLine();
        sb.AppendLine("| t (s) | working set (MiB) | heap, RssAnon (MiB) | open fds | threads | client connections |" +
            $"{(upstream ? " upstream connections |" : "")}{(unconnected ? " sockets in no TCP connection |" : "")}" +
            " Wire CPU (% of a core) |" +
            $"{(rate is null ? "" : $" {rateHeader} |")} |");
        sb.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: |" +
            $"{(upstream ? " ---: |" : "")}{(unconnected ? " ---: |" : "")} ---: |{(rate is null ? "" : " ---: |")} --- |");
        ProcessSample? previous = null;
        for (int i = 0; i < samples.Count; i++)
        {
            var s = samples[i];
            string mark = string.Join(", ", new[]
            {
                i == 0 ? "baseline, before the load" : "",
                s == firstSteady ? "every client connected" : "",
                s == reference ? "first window's peak" : "",
                s == end ? "last window's peak" : "",
                s == lastSteady ? "last sample with every client connected" : "",
                i > 0 && !s.UnderLoad ? (i == samples.Count - 1 ? "after the load, sessions closed" : "load over") : "",
            }.Where(m => m.Length > 0));
            if (mark.Length == 0 && (int)Math.Round(s.Elapsed.TotalSeconds) % every != 0)
            {
                continue;
            }

            string cpu = previous is null || s.Elapsed <= previous.Elapsed ? "-"
                : ((s.Cpu - previous.Cpu) / (s.Elapsed - previous.Elapsed) * 100).ToString("F0", CultureInfo.InvariantCulture);
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {Seconds(s)} | {Mib(s.WorkingSetBytes)} | {Mib(s.AnonymousBytes)} | {s.OpenFiles:N0} | {s.Threads} | " +
                $"{s.ClientConnections:N0} |" +
                $"{(upstream ? $" {s.UpstreamConnections:N0} |" : "")}{(unconnected ? $" {s.UnconnectedSockets:N0} |" : "")} {cpu} |" +
                $"{(rate is null ? "" : $" {(s.UnderLoad ? rate(s) : "-")} |")} {mark} |");
            previous = s;
        }
        sb.AppendLine();
    }

    /// <summary>Wire's error lines and the first warnings, so a failed run says what Wire said.</summary>
    public static void AppendLog(StringBuilder sb, WireGatewayProcess wire)
    {
        var (errors, warnings) = Classify(wire);
        if (errors.Count + warnings.Count == 0)
        {
            sb.AppendLine("Wire's log (level warning): empty.");
            sb.AppendLine();
            return;
        }

        sb.AppendLine(CultureInfo.InvariantCulture,
            $"Wire's log (level warning): {errors.Count} error lines, {warnings.Count} warnings; the first of each kind:");
        sb.AppendLine();
        sb.AppendLine("```");
        foreach (string line in errors.Concat(warnings).DistinctBy(Kind).Take(10))
        {
            sb.AppendLine(line.Length > 400 ? line[..400] + " ..." : line);
        }
        sb.AppendLine("```");
        sb.AppendLine();
    }

    public static void AppendChecks(StringBuilder sb, IReadOnlyList<SoakCheck> checks)
    {
        sb.AppendLine("| criterion | result | measured |");
        sb.AppendLine("| --- | --- | --- |");
        foreach (var check in checks)
        {
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {check.Criterion} | {(check.Passed ? "pass" : "**FAIL**")} | {check.Measured} |");
        }
        sb.AppendLine();
    }

    /// <summary>The report, and on stderr the criteria that failed.</summary>
    public static SoakResult Finish(StringBuilder sb, IReadOnlyList<SoakCheck> checks)
    {
        foreach (var check in checks.Where(c => !c.Passed))
        {
            Console.Error.WriteLine($"soak: FAILED: {check.Criterion}: {check.Measured}");
        }
        return new SoakResult(sb.ToString(), checks.All(c => c.Passed));
    }

    public static string Mib(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);

    private static string Seconds(ProcessSample sample) => sample.Elapsed.TotalSeconds.ToString("F0", CultureInfo.InvariantCulture);

    private static (List<string> Errors, List<string> Warnings) Classify(WireGatewayProcess wire)
    {
        var errors = new List<string>();
        var warnings = new List<string>();
        foreach (string line in wire.Lines)
        {
            var match = LogLine().Match(line);
            if (!match.Success || match.Groups[1].Value is "fail" or "crit")
            {
                errors.Add(line);
            }
            else if (match.Groups[1].Value == "warn")
            {
                warnings.Add(line);
            }
        }
        return (errors, warnings);
    }

    // "HH:mm:ss warn: Category[EventId] message": the level and the category with its event id say what kind of line it is.
    private static string Kind(string line)
    {
        int bracket = line.IndexOf(']', StringComparison.Ordinal);
        return LogLine().IsMatch(line) && bracket > 9 ? line[9..(bracket + 1)] : line;
    }

    // Microsoft.Extensions.Logging's simple console formatter with SingleLine and "HH:mm:ss " timestamps (GatewayHost).
    [GeneratedRegex(@"^\d\d:\d\d:\d\d (trce|dbug|info|warn|fail|crit): ")]
    private static partial Regex LogLine();
}
