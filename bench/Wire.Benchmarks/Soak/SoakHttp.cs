using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Wire.Benchmarks.EndToEnd;

namespace Wire.Benchmarks.Soak;

/// <summary>
/// HTTP load and soak (issue 10): wrk holding <c>clients</c> keep-alive connections to the real <c>wire run</c> gateway
/// for <c>seconds</c>, every request a JSON answer from an nginx origin with e-mail addresses (masked by a field rule)
/// and card numbers in free text (masked by a detector rule), recording on. Passes when no request failed or timed out,
/// every connection was open at once, the gateway's working set and descriptors stay flat, its log has no error line,
/// and the recordings verify.
/// </summary>
internal static partial class SoakHttp
{
    private const string Resource = "/users.json";
    private const int MaxVerifiedFiles = 5000;

    /// <summary>
    /// Idle upstream connections Wire keeps per target (<c>HttpProxyOptions.MaxIdleUpstreamConnections</c>), open after the load.
    /// </summary>
    private const int IdleUpstreamPool = 64;

    private static readonly string Rules = """
        "rules": [
          { "name": "emails", "action": "mask", "fields": ["$..email"], "style": "full" },
          { "name": "pii-content", "action": "mask", "detectors": ["email", "phone", "ssn", "card"], "style": "full" }
        ]
        """;

    public static async Task<SoakResult> RunAsync(SoakSettings settings)
    {
        if (!Nginx.IsInstalled || !File.Exists("/usr/bin/wrk"))
        {
            throw new InvalidOperationException("the HTTP soak needs nginx and wrk (apt-get install nginx wrk)");
        }
        SoakReport.RequireOpenFiles(settings.Clients + 200);
        await using var origin = await Nginx.TryStartOriginAsync().ConfigureAwait(false)
            ?? throw new InvalidOperationException("nginx origin did not start");
        using var recordings = SoakRecordings.Create();
        await using var wire = await HttpEndToEnd.StartWireAsync(origin.Port, Rules + ",\n" + recordings.ConfigMember + ",",
            $$"""{ "maxConnectionsPerIdentity": {{Number(settings.Clients + 100)}} }""").ConfigureAwait(false);

        var checks = new List<SoakCheck> { await CheckMaskingAsync(origin.Port, wire.Port).ConfigureAwait(false) };
        var warmUp = await WrkAsync(wire.Port, settings.WarmUpClients, settings.WarmUpSeconds).ConfigureAwait(false);
        var sampler = new ProcessSampler(wire.Pid, wire.Port, origin.Port);
        await sampler.WaitForNoClientsAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        long? liveBefore = await ManagedHeapProbe.LiveBytesAfterFullGcAsync(wire.Pid).ConfigureAwait(false);
        var run = await sampler.SampleWhileAsync(() => WrkAsync(wire.Port, settings.Clients, settings.Seconds), settings.SampleInterval)
            .ConfigureAwait(false);
        int settled = sampler.Samples[0].OpenFiles + SoakReport.OpenFilesSlack + IdleUpstreamPool;
        var after = await sampler.SettleAsync(settled, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        long? liveAfter = await ManagedHeapProbe.LiveBytesAfterFullGcAsync(wire.Pid).ConfigureAwait(false);
        var verification = await recordings.VerifyAsync(MaxVerifiedFiles).ConfigureAwait(false);

        checks.Insert(0, new SoakCheck(
            "wrk exits 0; no non-2xx/3xx response, no socket error (connect, read, write, timeout); warm-up and run",
            warmUp.Clean && run.Clean && run.Requests > 0,
            $"exit {run.ExitCode}, {run.Describe()}; warm-up: exit {warmUp.ExitCode}, {warmUp.Describe()}"));
        checks.Insert(1, SoakReport.ConnectionsCheck(settings, sampler));
        checks.AddRange(SoakReport.ProcessChecks(settings, sampler, after, IdleUpstreamPool, "Wire's idle upstream pool",
            socketLimit: 2 * settings.Clients + IdleUpstreamPool + SoakReport.OpenFilesSlack));
        checks.Add(SoakReport.LiveHeapCheck(liveBefore, liveAfter));
        checks.Add(SoakReport.LogCheck(wire));
        checks.Add(SoakReport.RecordingCheck(verification, settings.Clients));

        var sb = new StringBuilder();
        SoakReport.AppendHeader(
            sb, "HTTP soak: wrk keep-alive connections through Wire to nginx, JSON masking and recording", settings, wire);
        SoakReport.AppendChecks(sb, checks);
        var samples = sampler.Samples;
        var cpu = samples[^1].Cpu - samples[0].Cpu;
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"wrk `-t {Threads(settings)} -c {settings.Clients} -d {settings.Seconds}s --timeout 10s` after a {settings.WarmUpSeconds}-s " +
            $"warm-up with {settings.WarmUpClients} connections, GET {Resource} ({Encoding.UTF8.GetByteCount(Nginx.UsersJson)} bytes of " +
            $"JSON, 6 e-mail fields and 6 card numbers masked per response): {run.RequestsPerSecond:F0} requests/s, {run.Requests:N0} " +
            $"requests, p50 {run.P50Ms:F1} ms, p99 {run.P99Ms:F1} ms. Wire's CPU: {cpu.TotalSeconds:F1} s, " +
            $"{(run.Requests > 0 ? cpu.TotalMicroseconds / run.Requests : 0):F0} µs per request; peak working set " +
            $"{SoakReport.Mib(samples.Max(s => s.WorkingSetBytes))} MiB.");
        sb.AppendLine();
        SoakReport.AppendRecordings(sb, recordings, verification, run.Requests + warmUp.Requests, "request (warm-up included)");
        SoakReport.AppendSamples(sb, settings, sampler, null, null);
        SoakReport.AppendLog(sb, wire);
        return SoakReport.Finish(sb, checks);
    }

    /// <summary>
    /// One request through Wire before the load: 200, valid JSON of the origin's length, no e-mail address or card number left.
    /// </summary>
    private static async Task<SoakCheck> CheckMaskingAsync(int originPort, int wirePort)
    {
        using var client = new HttpClient();
        string direct = await client.GetStringAsync(new Uri($"http://127.0.0.1:{originPort}{Resource}")).ConfigureAwait(false);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"http://127.0.0.1:{wirePort}{Resource}"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", HttpEndToEnd.Token);
        using var response = await client.SendAsync(request).ConfigureAwait(false);
        string body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        bool json;
        try
        {
            using var document = JsonDocument.Parse(body);
            json = true;
        }
        catch (JsonException)
        {
            json = false;
        }

        bool masked = response.IsSuccessStatusCode && json && body.Length == direct.Length
            && !body.Contains("@example.com", StringComparison.Ordinal) && !body.Contains("4111 1111", StringComparison.Ordinal);
        string firstUser = body.Length > 0 ? body[..Math.Min(body.Length, body.IndexOf('}', StringComparison.Ordinal) + 1)] : "";
        return new SoakCheck(
            "Masking on the path (one GET through Wire before the load): e-mail fields and card numbers masked, JSON valid",
            masked, $"{(int)response.StatusCode}, {body.Length} of {direct.Length} bytes, `{firstUser}`");
    }

    private static async Task<WrkRun> WrkAsync(int port, int connections, int seconds)
    {
        var run = await ProcessRunner.RunAsync("wrk",
            ["-t", Number(Math.Min(2, connections)), "-c", Number(connections), "-d", $"{seconds}s", "--timeout", "10s", "--latency",
             "-H", $"Authorization: Bearer {HttpEndToEnd.Token}", $"http://127.0.0.1:{port}{Resource}"],
            new Dictionary<string, string>(), TimeSpan.FromSeconds(seconds + 120)).ConfigureAwait(false);
        if (!HttpEndToEnd.RequestsPattern().IsMatch(run.Output))
        {
            throw new InvalidOperationException($"wrk failed (exit {run.ExitCode}): {run.Output} {run.Error}");
        }
        var nonSuccess = NonSuccessCount().Match(run.Output);
        var socketErrors = SocketErrors().Match(run.Output);
        return new WrkRun(
            run.ExitCode,
            long.Parse(HttpEndToEnd.TotalPattern().Match(run.Output).Groups[1].Value, CultureInfo.InvariantCulture),
            double.Parse(HttpEndToEnd.RequestsPattern().Match(run.Output).Groups[1].Value, CultureInfo.InvariantCulture),
            HttpEndToEnd.Millis(run.Output, "50%"),
            HttpEndToEnd.Millis(run.Output, "99%"),
            nonSuccess.Success ? long.Parse(nonSuccess.Groups[1].Value, CultureInfo.InvariantCulture) : 0,
            socketErrors.Success ? socketErrors.Groups[1].Value.Trim() : "");
    }

    private static int Threads(SoakSettings settings) => Math.Min(2, settings.Clients);

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);

    // wrk prints these lines only when the counts are not zero.
    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex NonSuccessCount();

    [GeneratedRegex(@"Socket errors: (.*)$", RegexOptions.Multiline)]
    private static partial Regex SocketErrors();

    private sealed record WrkRun(
        int ExitCode, long Requests, double RequestsPerSecond, double P50Ms, double P99Ms, long NonSuccess, string SocketErrors)
    {
        /// <summary>No error: exit 0, no non-2xx/3xx response, no socket error.</summary>
        public bool Clean => ExitCode == 0 && NonSuccess == 0 && SocketErrors.Length == 0;

        public string Describe() =>
            string.Create(CultureInfo.InvariantCulture,
                $"{Requests:N0} requests, {NonSuccess} non-2xx/3xx, socket errors: {(SocketErrors.Length == 0 ? "none" : SocketErrors)}");
    }
}
