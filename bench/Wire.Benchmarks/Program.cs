using BenchmarkDotNet.Running;
using Wire.Benchmarks.EndToEnd;

namespace Wire.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project bench/Wire.Benchmarks -- --filter '*Pg*'</c> runs the micro benchmarks;
/// <c>... -- e2e pg [--smoke]</c> runs the end-to-end comparison (see bench/README.md).
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "e2e")
        {
            return await EndToEndRunner.RunAsync(args[1..]).ConfigureAwait(false);
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }
}
