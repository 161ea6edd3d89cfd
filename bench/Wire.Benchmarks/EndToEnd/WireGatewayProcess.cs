using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Wire.Gateway.Demo;

namespace Wire.Benchmarks.EndToEnd;

/// <summary>The <c>wire run --config</c> gateway as a child process in front of a <see cref="LocalPostgresServer"/>.</summary>
internal sealed class WireGatewayProcess : IAsyncDisposable
{
    private const int MaxKeptLines = 10_000;

    private readonly Process _process;
    private readonly string _directory;
    private readonly ConcurrentQueue<string> _lines = new();
    private int _lineCount;

    private WireGatewayProcess(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The gateway's process id (for its CPU time).</summary>
    public int Pid => _process.Id;

    /// <summary>
    /// What the gateway printed so far, in order: its log (stdout, one line per entry) and its stderr (also forwarded to
    /// ours), the first 10,000 lines.
    /// </summary>
    public IReadOnlyCollection<string> Lines => _lines;

    /// <summary>How many lines the gateway printed, including those past the ones kept in <see cref="Lines"/>.</summary>
    public int LineCount => Volatile.Read(ref _lineCount);

    /// <param name="extraConfig">Top-level config keys to add, as JSON members (for example <c>"rules": []</c>); empty for none.</param>
    /// <param name="limits">
    /// The listener's <c>postgres.limits</c> object (for example <c>{ "maxConnections": 5000 }</c>); empty for the defaults.
    /// </param>
    public static Task<WireGatewayProcess> StartAsync(
        LocalPostgresServer server, string role, string password, string token, string extraConfig = "", string limits = "")
    {
        int port = PeerProcess.FreePort();
        return StartAsync(port, $$"""
            "identity": { "tokens": [ { "token": "{{token}}", "subject": "{{role}}" } ] },
            "postgres": {
              "listen": "127.0.0.1:{{port}}",
              {{(limits.Length == 0 ? "" : $"\"limits\": {limits},")}}
              "targets": [ { "name": "bench", "host": "{{server.Host}}", "port": {{server.Port}}, "database": "bench",
                             "username": "{{role}}", "password": "env:WIRE_BENCH_DB_PASSWORD", "sslMode": "disable" } ]
            },
            {{(extraConfig.Length == 0 ? "" : extraConfig + ",")}}
            """, new Dictionary<string, string> { ["WIRE_BENCH_DB_PASSWORD"] = password });
    }

    /// <summary>Starts <c>wire run</c> with the given top-level config members (each followed by a comma), listening on <paramref name="port"/>.</summary>
    public static async Task<WireGatewayProcess> StartAsync(int port, string configMembers, IReadOnlyDictionary<string, string>? environment = null)
    {
        string directory = Directory.CreateTempSubdirectory("wire-bench-").FullName;
        await File.WriteAllTextAsync(Path.Combine(directory, "gateway.json"), $$"""
            {
              {{configMembers}}
              "logging": { "level": "warning" }
            }
            """).ConfigureAwait(false);

        var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "wire.dll"));
        info.ArgumentList.Add("run");
        info.ArgumentList.Add("--config");
        info.ArgumentList.Add(Path.Combine(directory, "gateway.json"));
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        var process = Process.Start(info)!;
        var gateway = new WireGatewayProcess(process, directory, port);
        process.OutputDataReceived += (_, e) => gateway.Keep(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.Error.WriteLine("wire: " + e.Data);
                gateway.Keep(e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        for (int i = 0; i < 300; i++)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
                return gateway;
            }
            catch (SocketException)
            {
                if (process.HasExited)
                {
                    break;
                }

                await Task.Delay(100).ConfigureAwait(false);
            }
        }

        await gateway.DisposeAsync().ConfigureAwait(false);
        throw new InvalidOperationException("wire run did not start listening");
    }

    private void Keep(string? line)
    {
        if (line is not null && Interlocked.Increment(ref _lineCount) <= MaxKeptLines)
        {
            _lines.Enqueue(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }

        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
