using Wire.Gateway.Demo;

namespace Wire.Benchmarks.EndToEnd;

/// <summary>Runs a tool for the harness through the same runner the demo and the tests use.</summary>
internal static class ProcessRunner
{
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(
        string fileName, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment, TimeSpan timeout)
    {
        var result = await ToolProcess.RunAsync(fileName, arguments, null, null, timeout, default, environment).ConfigureAwait(false);
        return (result.ExitCode, result.StandardOutput, result.StandardError);
    }
}
