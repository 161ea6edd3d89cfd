using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Wire.Testing;

/// <summary>The real <c>wire</c> executable (built next to the tests) run as a child process, its output collected.</summary>
internal sealed class WireProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly SemaphoreSlim _lineArrived = new(0);

    private WireProcess(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) => Add(e.Data);
        _process.ErrorDataReceived += (_, e) => Add(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Output => string.Join('\n', _lines);

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public static WireProcess Start(params string[] args) => StartFrom(Path.Combine(AppContext.BaseDirectory, "wire.dll"), args);

    /// <summary>
    /// The gateway's own build output (<c>src/Wire.Gateway/bin/CONFIG/TFM/wire.dll</c>): for test projects that run on the
    /// ASP.NET Core shared framework, whose output lacks the package assemblies <c>wire</c> needs on plain .NET.
    /// </summary>
    public static string GatewayBuildOutput()
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        return Path.Combine(RepositoryRoot(), "src", "Wire.Gateway", "bin", BuildConfiguration, output.Name, "wire.dll");
    }

    /// <summary>The configuration the tests were built in (<c>Release</c> on CI), read off their output directory.</summary>
    public static string BuildConfiguration => new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    /// <summary>The directory that holds Wire.sln, found above the test assembly.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Wire.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Wire.sln not found above " + AppContext.BaseDirectory);
    }

    public static WireProcess StartFrom(string wireDll, params string[] args) => StartFrom(wireDll, null, args);

    /// <summary>Starts <paramref name="wireDll"/> with <paramref name="environment"/> added to this process's environment.</summary>
    public static WireProcess StartFrom(string wireDll, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(wireDll);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return new WireProcess(Process.Start(info)!);
    }

    private void Add(string? line)
    {
        if (line is not null)
        {
            _lines.Enqueue(line);
            _lineArrived.Release();
        }
    }

    /// <summary>Waits until a line containing <paramref name="text"/> has been printed.</summary>
    public async Task WaitForAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!_lines.Any(l => l.Contains(text, StringComparison.Ordinal)))
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || _process.HasExited && !await _lineArrived.WaitAsync(200))
            {
                throw new TimeoutException($"wire did not print \"{text}\" within {timeout}; output:\n{Output}");
            }

            await _lineArrived.WaitAsync(left < TimeSpan.FromMilliseconds(500) ? left : TimeSpan.FromMilliseconds(500));
        }
    }

    /// <summary>The process's resident set size (VmRSS), in bytes.</summary>
    public long ResidentBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    public int CountLines(string text) => _lines.Count(l => l.Contains(text, StringComparison.Ordinal));

    public void Signal(PosixSignal signal)
    {
        int number = signal switch
        {
            PosixSignal.SIGINT => 2,
            PosixSignal.SIGHUP => 1,
            _ => 15,
        };
        _ = kill(_process.Id, number);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
