namespace Wire.Testing;

/// <summary>
/// <c>wire run</c> on a configuration a test writes: the file is <c>gateway.json</c> in the test's directory (where the
/// relative paths in it, key and password files, are found), and the run has started once it printed each line waited for.
/// </summary>
internal static class WireRun
{
    /// <summary>What <c>wire run</c> prints once the admin API and the approval page listen.</summary>
    public const string AdminListening = "Admin API and approval page listening";

    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    /// <summary>Runs the <c>wire</c> built next to the tests (<see cref="WireProcess.Start"/>).</summary>
    public static Task<WireProcess> StartAsync(string directory, string config, params string[] waitFor) =>
        StartFromAsync(Path.Combine(AppContext.BaseDirectory, "wire.dll"), null, directory, config, waitFor);

    /// <summary>
    /// Writes <paramref name="config"/> to <paramref name="directory"/>/gateway.json, runs <paramref name="wireDll"/> on it
    /// with <paramref name="environment"/> and waits (30 s each) for every line in <paramref name="waitFor"/>.
    /// </summary>
    public static async Task<WireProcess> StartFromAsync(
        string wireDll, IReadOnlyDictionary<string, string>? environment, string directory, string config, params string[] waitFor)
    {
        string path = Path.Combine(directory, "gateway.json");
        await File.WriteAllTextAsync(path, config);
        var wire = WireProcess.StartFrom(wireDll, environment, "run", "--config", path);
        try
        {
            foreach (string line in waitFor)
            {
                await wire.WaitForAsync(line, Limit);
            }
            return wire;
        }
        catch
        {
            await wire.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The members of a gateway.json that make a run leave everything an exposure test searches: recordings in
    /// <c>recordings</c>, sealed with the key in <c>recording.key</c>; the admin API on 127.0.0.1:<paramref name="admin"/>;
    /// the log at trace level; and a short shutdown.
    /// </summary>
    public static string Observed(int admin) => $$"""
        "recording": { "directory": "recordings", "key": "file:recording.key" },
        "admin": { "listen": "127.0.0.1:{{admin}}" },
        "logging": { "level": "trace" },
        "shutdownTimeout": "00:00:02"
        """;
}
