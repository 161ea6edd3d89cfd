using System.Diagnostics;
using System.Text;

namespace Wire.Ssh.Tests.Infrastructure;

/// <summary>
/// A real program left running while a test talks to it (ssh -N -L, ssh-agent, script): its input can be written as it
/// runs, its output (stdout and stderr as they come) read at any time. Killed with its children when disposed.
/// </summary>
internal sealed class BackgroundProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Task _reading;

    public BackgroundProcess(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        _process = Process.Start(Processes.StartInfo(file, arguments, environment)) ?? throw new InvalidOperationException($"{file} did not start");
        _reading = Task.WhenAll(PumpAsync(_process.StandardOutput), PumpAsync(_process.StandardError));
    }

    /// <summary>What the program wrote so far, stdout and stderr together.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public async Task WriteAsync(string text)
    {
        await _process.StandardInput.WriteAsync(text);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Waits (bounded) until the output satisfies <paramref name="found"/>, and returns it.</summary>
    public async Task<string> WaitForOutputAsync(Func<string, bool> found, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            string output = Output;
            if (found(output))
            {
                return output;
            }
            if (DateTime.UtcNow > deadline || _process.HasExited)
            {
                throw new TimeoutException($"{_process.StartInfo.FileName} did not write what was expected within {timeout} (exited: {_process.HasExited}): {output}");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Waits (bounded) for the program to end; its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{_process.StartInfo.FileName} did not end within {timeout}: {Output}");
        }
        await _reading.WaitAsync(timeout);
        return _process.ExitCode;
    }

    private async Task PumpAsync(StreamReader reader)
    {
        char[] buffer = new char[4096];
        int n;
        while ((n = await reader.ReadAsync(buffer)) > 0)
        {
            lock (_output)
            {
                _output.Append(buffer, 0, n);
            }
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.Dispose();
    }
}
