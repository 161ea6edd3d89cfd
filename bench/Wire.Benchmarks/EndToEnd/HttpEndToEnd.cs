using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Wire.Benchmarks.EndToEnd;

/// <summary>
/// HTTP end to end (issue 5): an nginx origin serving 1 KiB and 1 MiB responses, reached directly, through HAProxy in TCP
/// mode (the floor), through nginx as a reverse proxy (HTTP/1.1, keep-alive pool of 64), and through Wire with no rules
/// and with rules that judge every request. wrk with 32 connections; requests/s, p50/p99 latency, the proxy's CPU per
/// request; all paths interleaved, medians of the rounds.
/// </summary>
internal static partial class HttpEndToEnd
{
    internal const string Token = "bench-token";

    private static readonly string Rules = """
        "rules": [
          { "name": "no-admin-writes", "action": "deny", "methods": ["DELETE", "PUT", "POST"], "paths": ["/admin/*"] },
          { "name": "reviewed", "action": "review", "paths": ["/reviewed/*"], "approvers": ["sre"] },
          { "name": "pg-only", "action": "deny", "statements": ["drop"] }
        ],
        """;

    public static async Task<string> RunAsync(EndToEndSettings settings)
    {
        if (!Nginx.IsInstalled || !File.Exists("/usr/bin/wrk"))
        {
            return "Missing peers (apt-get install nginx wrk): the HTTP benchmark needs both.\n";
        }
        await using var origin = await Nginx.TryStartOriginAsync().ConfigureAwait(false)
            ?? throw new InvalidOperationException("nginx origin did not start");
        await using var haproxy = await HaProxy.TryStartAsync("127.0.0.1", origin.Port).ConfigureAwait(false);
        await using var nginx = await Nginx.TryStartProxyAsync(origin.Port).ConfigureAwait(false);
        await using var wireOff = await StartWireAsync(origin.Port, "").ConfigureAwait(false);
        await using var wireOn = await StartWireAsync(origin.Port, Rules).ConfigureAwait(false);

        var paths = new List<Path>
        {
            new("direct", origin.Port, 0, false),
        };
        if (haproxy is not null)
        {
            paths.Add(new("HAProxy (tcp)", haproxy.Port, haproxy.Pid, false));
        }
        if (nginx is not null)
        {
            paths.Add(new("nginx (reverse proxy)", nginx.Port, nginx.Pid, true));
        }
        paths.Add(new("Wire, no rules", wireOff.Port, wireOff.Pid, false));
        paths.Add(new("Wire, rules", wireOn.Port, wireOn.Pid, false));

        int connections = settings.Smoke ? 4 : 32;
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"Machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}; wrk, the origin (nginx) and the proxies on the same cores; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        sb.AppendLine();
        foreach (var (resource, label) in new[] { ("/1k", "1 KiB"), ("/1m", "1 MiB") })
        {
            var results = paths.ToDictionary(p => p.Name, _ => new List<WrkResult>());
            foreach (var path in paths)
            {
                await WrkAsync(path, resource, connections, Math.Min(settings.Seconds, 2)).ConfigureAwait(false); // warm up
            }
            for (int round = 0; round < settings.Rounds; round++)
            {
                foreach (var path in paths)
                {
                    var before = path.Pid == 0 ? TimeSpan.Zero : path.Tree ? ProcessCpu.ReadTree(path.Pid) : ProcessCpu.Read(path.Pid);
                    var result = await WrkAsync(path, resource, connections, settings.Seconds).ConfigureAwait(false);
                    var cpu = path.Pid == 0 ? TimeSpan.Zero : (path.Tree ? ProcessCpu.ReadTree(path.Pid) : ProcessCpu.Read(path.Pid)) - before;
                    results[path.Name].Add(result with { CpuMicrosPerRequest = result.Requests > 0 ? cpu.TotalMicroseconds / result.Requests : 0 });
                }
            }

            double direct = Stats.Median(results["direct"].Select(r => r.RequestsPerSecond));
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"### GET {label} (`wrk -t 2 -c {connections} -d {settings.Seconds}s`), median of {settings.Rounds} interleaved rounds");
            sb.AppendLine();
            sb.AppendLine("| path | requests/s | x direct | MB/s | p50 (ms) | p99 (ms) | proxy CPU µs/request | rounds (requests/s) |");
            sb.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
            foreach (var path in paths)
            {
                var r = results[path.Name];
                double rps = Stats.Median(r.Select(x => x.RequestsPerSecond));
                string cpu = path.Pid == 0 ? "-" : Stats.Median(r.Select(x => x.CpuMicrosPerRequest)).ToString("F1", CultureInfo.InvariantCulture);
                sb.AppendLine(CultureInfo.InvariantCulture,
                    $"| {path.Name} | {rps:F0} | {rps / direct:F2} | {Stats.Median(r.Select(x => x.MegabytesPerSecond)):F1} | {Stats.Median(r.Select(x => x.P50Ms)):F3} | {Stats.Median(r.Select(x => x.P99Ms)):F3} | {cpu} | {string.Join(", ", r.Select(x => x.RequestsPerSecond.ToString("F0", CultureInfo.InvariantCulture)))} |");
            }
            sb.AppendLine();
        }
        return sb.ToString();
    }

    /// <summary><c>wire run</c> with an <c>http</c> listener in front of the origin; clients send <see cref="Token"/>.</summary>
    /// <param name="members">Top-level config members, each followed by a comma (rules, recording); empty for none.</param>
    /// <param name="limits">The listener's <c>http.limits</c> object; empty for the defaults.</param>
    internal static Task<WireGatewayProcess> StartWireAsync(int originPort, string members, string limits = "")
    {
        int port = PeerProcess.FreePort();
        return WireGatewayProcess.StartAsync(port, $$"""
            "identity": { "tokens": [ { "token": "{{Token}}", "subject": "bench", "groups": ["dev"] } ] },
            "http": {
              "listen": "127.0.0.1:{{port}}",
              {{(limits.Length == 0 ? "" : $"\"limits\": {limits},")}}
              "targets": [ { "name": "origin", "url": "http://127.0.0.1:{{originPort}}",
                             "credential": { "header": "X-Upstream-Key", "value": "bench-upstream-key" } } ]
            },
            {{members}}
            """);
    }

    private static async Task<WrkResult> WrkAsync(Path path, string resource, int connections, int seconds)
    {
        var run = await ProcessRunner.RunAsync("wrk",
            ["-t", "2", "-c", connections.ToString(CultureInfo.InvariantCulture), "-d", $"{seconds}s", "--latency",
             "-H", $"Authorization: Bearer {Token}", $"http://127.0.0.1:{path.Port}{resource}"],
            new Dictionary<string, string>(), TimeSpan.FromSeconds(seconds + 60)).ConfigureAwait(false);
        if (run.ExitCode != 0 || NonSuccess().IsMatch(run.Output) || !RequestsPattern().IsMatch(run.Output))
        {
            throw new InvalidOperationException($"wrk through {path.Name} failed: {run.Output} {run.Error}");
        }
        double rps = double.Parse(RequestsPattern().Match(run.Output).Groups[1].Value, CultureInfo.InvariantCulture);
        long requests = long.Parse(TotalPattern().Match(run.Output).Groups[1].Value, CultureInfo.InvariantCulture);
        return new WrkResult(rps, Megabytes(TransferPattern().Match(run.Output)), Millis(run.Output, "50%"), Millis(run.Output, "99%"), requests, 0);
    }

    internal static double Millis(string output, string percentile)
    {
        var match = Regex.Match(output, @"^\s+" + Regex.Escape(percentile) + @"\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        double value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch { "us" => value / 1000, "s" => value * 1000, _ => value };
    }

    private static double Megabytes(Match match)
    {
        double value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch { "KB" => value / 1024, "GB" => value * 1024, "B" => value / 1024 / 1024, _ => value };
    }

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    internal static partial Regex RequestsPattern();

    [GeneratedRegex(@"(\d+) requests in")]
    internal static partial Regex TotalPattern();

    [GeneratedRegex(@"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)")]
    private static partial Regex TransferPattern();

    [GeneratedRegex(@"Non-2xx or 3xx responses")]
    internal static partial Regex NonSuccess();

    private sealed record Path(string Name, int Port, int Pid, bool Tree);

    private sealed record WrkResult(double RequestsPerSecond, double MegabytesPerSecond, double P50Ms, double P99Ms, long Requests, double CpuMicrosPerRequest);
}
