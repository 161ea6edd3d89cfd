using System.Diagnostics;
using System.Globalization;
using Wire.Benchmarks.EndToEnd;

namespace Wire.Benchmarks.Soak;

/// <summary>
/// Samples a process from outside while a load runs: VmRSS and threads from /proc/PID/status, open descriptors from
/// /proc/PID/fd (its sockets told apart by inode), CPU from /proc/PID/stat, and from /proc/net/tcp the established
/// connections to its port and which of its sockets are upstream connections or in no TCP connection.
/// </summary>
internal sealed class ProcessSampler
{
    private readonly int _pid;
    private readonly string _localPort;
    private readonly string? _upstreamPort;
    private readonly Stopwatch _clock = new();
    private readonly List<ProcessSample> _samples = [];
    private volatile bool _underLoad;
    private volatile bool _gone;

    /// <param name="upstreamPort">The port of the server the gateway connects to, to count its upstream connections; 0 for none.</param>
    public ProcessSampler(int pid, int port, int upstreamPort = 0)
    {
        _pid = pid;
        _localPort = ":" + port.ToString("X4", CultureInfo.InvariantCulture);
        _upstreamPort = upstreamPort == 0 ? null : ":" + upstreamPort.ToString("X4", CultureInfo.InvariantCulture);
    }

    /// <summary>Every sample so far, oldest first: the baseline (before the load), the load's, then the one after.</summary>
    public IReadOnlyList<ProcessSample> Samples
    {
        get
        {
            lock (_samples)
            {
                return [.. _samples];
            }
        }
    }

    /// <summary>True when /proc no longer had the process at some sample: it exited (or crashed) during the run.</summary>
    public bool ProcessGone => _gone;

    /// <summary>
    /// Takes the baseline, then runs <paramref name="load"/> and samples every <paramref name="interval"/> until it ends.
    /// </summary>
    public async Task<T> SampleWhileAsync<T>(Func<Task<T>> load, TimeSpan interval)
    {
        Take();
        _clock.Start();
        _underLoad = true;
        using var stop = new CancellationTokenSource();
        var loop = LoopAsync(interval, stop.Token);
        try
        {
            return await load().ConfigureAwait(false);
        }
        finally
        {
            _underLoad = false;
            await stop.CancelAsync().ConfigureAwait(false);
            await loop.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// After the load: waits until the process holds at most <paramref name="openFiles"/> descriptors (sessions take a
    /// moment to end) or <paramref name="timeout"/> passes, then takes the last sample; null when the process is gone.
    /// </summary>
    public async Task<ProcessSample?> SettleAsync(int openFiles, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout && !_gone && CountOpenFiles() > openFiles)
        {
            await Task.Delay(250).ConfigureAwait(false);
        }
        return Take();
    }

    /// <summary>
    /// Waits (up to <paramref name="timeout"/>) until no connection to the port is open, also none the client closed and
    /// the gateway has yet to: a warm-up's sessions have ended.
    /// </summary>
    public async Task WaitForNoClientsAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout && CountConnections(closing: true, null).Clients > 0)
        {
            await Task.Delay(250).ConfigureAwait(false);
        }
    }

    private async Task LoopAsync(TimeSpan interval, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                Take();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private ProcessSample? Take()
    {
        bool underLoad = _underLoad;
        try
        {
            long rssKib = 0;
            long anonKib = 0;
            int threads = 0;
            foreach (string line in File.ReadLines($"/proc/{_pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rssKib = Kib(line.AsSpan(6));
                }
                else if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
                {
                    anonKib = Kib(line.AsSpan(8));
                }
                else if (line.StartsWith("Threads:", StringComparison.Ordinal))
                {
                    threads = int.Parse(line.AsSpan(8).Trim(), CultureInfo.InvariantCulture);
                }
            }

            var (openFiles, others, sockets) = ReadDescriptors();
            var (clients, upstream, known) = CountConnections(closing: false, sockets);
            var sample = new ProcessSample(_clock.Elapsed, rssKib * 1024, anonKib * 1024, openFiles, sockets.Count, others, threads,
                ProcessCpu.Read(_pid), clients, upstream, sockets.Count - known, underLoad);
            lock (_samples)
            {
                _samples.Add(sample);
            }
            return sample;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _gone = true;
            return null;
        }
    }

    private int CountOpenFiles()
    {
        try
        {
            return Directory.EnumerateFileSystemEntries($"/proc/{_pid}/fd").Count();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _gone = true;
            return 0;
        }
    }

    private static long Kib(ReadOnlySpan<char> value) => long.Parse(value.Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);

    // The descriptors, those that are not sockets, and the inodes of the sockets ("socket:[INODE]" links). A descriptor
    // closed between the listing and reading its link counts in the total only.
    private (int OpenFiles, int Others, HashSet<string> Sockets) ReadDescriptors()
    {
        int count = 0;
        int others = 0;
        var sockets = new HashSet<string>(StringComparer.Ordinal);
        foreach (string fd in Directory.EnumerateFileSystemEntries($"/proc/{_pid}/fd"))
        {
            count++;
            try
            {
                switch (new FileInfo(fd).LinkTarget)
                {
                    case { } target when target.StartsWith("socket:[", StringComparison.Ordinal):
                        sockets.Add(target[8..^1]);
                        break;
                    case not null:
                        others++;
                        break;
                }
            }
            catch (IOException)
            {
                // Closed while we looked.
            }
        }
        return (count, others, sockets);
    }

    // /proc/net/tcp: "sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...", addresses as
    // HEXIP:HEXPORT, state 01 = ESTABLISHED, 08 = CLOSE_WAIT (the client closed, the gateway has not yet). The accepted
    // side of a loopback connection is the entry whose local port is the listener's (counted whether or not the gateway
    // has accepted it yet); an upstream connection is one of the gateway's sockets whose remote port is the server's. A
    // socket of the gateway's that is in no entry is in no connection: created with its connect still queued, or torn down. The kernel
    // hands the table out a page per read and resumes its walk by position, so rows that moved meanwhile come twice:
    // each row counts once (addresses and inode).
    private (int Clients, int Upstream, int Known) CountConnections(bool closing, HashSet<string>? sockets)
    {
        int clients = 0;
        int upstream = 0;
        int known = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string line in File.ReadAllText("/proc/net/tcp").Split('\n').Skip(1))
        {
            string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 10 || !seen.Add(fields[1] + fields[2] + fields[9]))
            {
                continue;
            }
            if (fields[1].EndsWith(_localPort, StringComparison.Ordinal) && (fields[3] == "01" || (closing && fields[3] == "08")))
            {
                clients++;
            }
            if (sockets is not null && sockets.Contains(fields[9]))
            {
                known++;
                if (_upstreamPort is not null && fields[2].EndsWith(_upstreamPort, StringComparison.Ordinal))
                {
                    upstream++;
                }
            }
        }
        return (clients, upstream, known);
    }
}
