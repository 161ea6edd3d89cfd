using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Wire.Benchmarks.EndToEnd;

/// <summary>
/// SSH end to end (issue 6): <c>ssh target 'head -c 1G /dev/zero' &gt; /dev/null</c> straight to a real sshd, through
/// OpenSSH's ProxyJump (the same sshd as the jump host), and through Wire (<c>wire run</c> with an <c>ssh</c> section);
/// MB/s and CPU-seconds per GiB of each process (the ssh client, sshd with its per-connection processes, Wire); then
/// 50 sequential <c>ssh ... true</c> logins, direct and through Wire. All paths interleaved, medians of the rounds.
/// </summary>
internal static class SshEndToEnd
{
    public static async Task<string> RunAsync(EndToEndSettings settings)
    {
        if (!Sshd.IsInstalled)
        {
            return "Missing peers (apt-get install openssh-server openssh-client): the SSH benchmark needs sshd, ssh and ssh-keygen.\n";
        }
        await using var sshd = await Sshd.StartAsync().ConfigureAwait(false);
        string directory = sshd.Directory;
        string aliceKey = Path.Combine(directory, "alice");
        await Sshd.KeygenAsync(aliceKey).ConfigureAwait(false);
        string knownHosts = Path.Combine(directory, "known_hosts");
        await File.WriteAllTextAsync(knownHosts, sshd.HostKeyLine + "\n").ConfigureAwait(false);
        string alicePublic = (await File.ReadAllTextAsync(aliceKey + ".pub").ConfigureAwait(false)).Trim();

        int wirePort = PeerProcess.FreePort();
        await using var wire = await WireGatewayProcess.StartAsync(wirePort, $$"""
            "identity": { "users": [ { "subject": "alice", "sshKeys": [ "{{alicePublic}}" ] } ] },
            "ssh": {
              "listen": "127.0.0.1:{{wirePort}}",
              "targets": [ { "name": "app", "host": "127.0.0.1", "port": {{sshd.Port}}, "username": "{{Sshd.UserName}}",
                             "privateKey": "{{sshd.ClientKey}}", "knownHosts": "{{knownHosts}}" } ]
            },
            """).ConfigureAwait(false);

        string[] common = ["-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "IdentitiesOnly=yes"];
        string user = Sshd.UserName;
        string sshdPort = sshd.Port.ToString(CultureInfo.InvariantCulture);
        var paths = new List<SshPath>
        {
            new("direct", [.. common, "-i", sshd.ClientKey, "-p", sshdPort, $"{user}@127.0.0.1"], 0),
            // What -J does (ssh -W through the jump host), spelled out so the inner ssh gets the same options and key; the
            // jump host is the same sshd (ssh refuses -J when jump host and destination have the same name).
            new("OpenSSH ProxyJump", [.. common, "-i", sshd.ClientKey, "-o",
                "ProxyCommand=ssh " + string.Join(' ', common) + $" -i {sshd.ClientKey} -p {sshdPort} -W %h:%p {user}@127.0.0.1",
                "-p", sshdPort, $"{user}@127.0.0.1"], 0),
            new("Wire", [.. common, "-i", aliceKey, "-p", wirePort.ToString(CultureInfo.InvariantCulture), "alice+app@127.0.0.1"], wire.Pid),
        };

        long bytes = settings.Smoke ? 16L << 20 : 1L << 30;
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"Machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}; ssh, sshd and Wire on the same cores; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
        sb.AppendLine();

        var results = paths.ToDictionary(p => p.Name, _ => new List<Transfer>());
        for (int round = 0; round < settings.Rounds; round++)
        {
            foreach (var path in paths)
            {
                results[path.Name].Add(await TransferAsync(path, sshd, bytes).ConfigureAwait(false));
            }
        }
        double gib = bytes / (double)(1L << 30);
        double direct = Stats.Median(results["direct"].Select(t => t.MegabytesPerSecond));
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"### `ssh target 'head -c {bytes} /dev/zero' > /dev/null`, median of {settings.Rounds} interleaved rounds (default ciphers: aes128-gcm@openssh.com)");
        sb.AppendLine();
        sb.AppendLine("| path | MB/s | x direct | seconds | CPU s/GiB: ssh client | sshd | Wire | rounds (MB/s) |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
        foreach (var path in paths)
        {
            var r = results[path.Name];
            double mbps = Stats.Median(r.Select(t => t.MegabytesPerSecond));
            string wireCpu = path.WirePid == 0 ? "-" : (Stats.Median(r.Select(t => t.Wire.TotalSeconds)) / gib).ToString("F2", CultureInfo.InvariantCulture);
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {path.Name} | {mbps:F0} | {mbps / direct:F2} | {Stats.Median(r.Select(t => t.Seconds)):F2} | {Stats.Median(r.Select(t => t.Client.TotalSeconds)) / gib:F2} | {Stats.Median(r.Select(t => t.Sshd.TotalSeconds)) / gib:F2} | {wireCpu} | {string.Join(", ", r.Select(t => t.MegabytesPerSecond.ToString("F0", CultureInfo.InvariantCulture)))} |");
        }
        sb.AppendLine();

        int logins = settings.Smoke ? 5 : 50;
        var setup = new Dictionary<string, List<double>> { ["direct"] = [], ["Wire"] = [] };
        for (int round = 0; round < settings.Rounds; round++)
        {
            foreach (var path in paths.Where(p => setup.ContainsKey(p.Name)))
            {
                var watch = Stopwatch.StartNew();
                for (int i = 0; i < logins; i++)
                {
                    await RunSshAsync(path, "true").ConfigureAwait(false);
                }
                setup[path.Name].Add(watch.Elapsed.TotalMilliseconds / logins);
            }
        }
        double directSetup = Stats.Median(setup["direct"]);
        sb.AppendLine(CultureInfo.InvariantCulture, $"### {logins} sequential `ssh ... true`, median of {settings.Rounds} interleaved rounds");
        sb.AppendLine();
        sb.AppendLine("| path | ms per login | x direct | rounds (ms) |");
        sb.AppendLine("| --- | ---: | ---: | --- |");
        foreach (var (name, values) in setup)
        {
            double ms = Stats.Median(values);
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {name} | {ms:F1} | {ms / directSetup:F2} | {string.Join(", ", values.Select(v => v.ToString("F1", CultureInfo.InvariantCulture)))} |");
        }
        sb.AppendLine();
        return sb.ToString();
    }

    private sealed record SshPath(string Name, string[] Arguments, int WirePid);

    private sealed record Transfer(double Seconds, double MegabytesPerSecond, TimeSpan Client, TimeSpan Sshd, TimeSpan Wire);

    private static async Task<Transfer> TransferAsync(SshPath path, Sshd sshd, long bytes)
    {
        var sshdBefore = sshd.CpuWithReapedChildren();
        var wireBefore = path.WirePid == 0 ? TimeSpan.Zero : ProcessCpu.Read(path.WirePid);
        var watch = Stopwatch.StartNew();
        // bash's `times` prints the CPU of the children it waited for (the ssh client) on its second line.
        string command = "ssh " + string.Join(' ', path.Arguments.Select(Quote)) + $" 'head -c {bytes} /dev/zero' > /dev/null; times";
        var result = await ProcessRunner.RunAsync("bash", ["-c", command], null, TimeSpan.FromMinutes(10)).ConfigureAwait(false);
        double seconds = watch.Elapsed.TotalSeconds;
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{path.Name}: ssh failed: {result.Error}");
        }
        // sshd reaps a connection's processes a moment after the client leaves.
        await Task.Delay(200).ConfigureAwait(false);
        var client = ParseTimes(result.Output);
        var sshdCpu = sshd.CpuWithReapedChildren() - sshdBefore;
        var wireCpu = path.WirePid == 0 ? TimeSpan.Zero : ProcessCpu.Read(path.WirePid) - wireBefore;
        return new Transfer(seconds, bytes / 1e6 / seconds, client, sshdCpu, wireCpu);
    }

    private static async Task RunSshAsync(SshPath path, string command)
    {
        var result = await ProcessRunner.RunAsync("ssh", [.. path.Arguments, command], null, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{path.Name}: ssh failed: {result.Error}");
        }
    }

    /// <summary>The children's user and system time from bash's <c>times</c> (second line: <c>0m1.234s 0m0.567s</c>).</summary>
    private static TimeSpan ParseTimes(string output)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var fields = lines[^1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Aggregate(TimeSpan.Zero, (sum, field) =>
        {
            int m = field.IndexOf('m', StringComparison.Ordinal);
            double minutes = double.Parse(field[..m], CultureInfo.InvariantCulture);
            double secs = double.Parse(field[(m + 1)..].TrimEnd('s'), CultureInfo.InvariantCulture);
            return sum + TimeSpan.FromSeconds(minutes * 60 + secs);
        });
    }

    private static string Quote(string argument) => "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
