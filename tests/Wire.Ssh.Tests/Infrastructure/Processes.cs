using System.Diagnostics;

namespace Wire.Ssh.Tests.Infrastructure;

/// <summary>Runs a real program (ssh, ssh-keygen) with a time limit and collects its output.</summary>
internal static class Processes
{
    public sealed record Result(int ExitCode, string StandardOutput, string StandardError);

    /// <summary>How the tests start a program: its arguments as a list (no shell), all three standard streams redirected.</summary>
    public static ProcessStartInfo StartInfo(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        return info;
    }

    public static async Task<Result> RunAsync(string file, IEnumerable<string> arguments, TimeSpan timeout, string? standardInput = null)
    {
        var info = StartInfo(file, arguments);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
        }
        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} did not finish within {timeout}: {await stderr}");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
