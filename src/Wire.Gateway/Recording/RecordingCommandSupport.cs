using Npgsql;
using Wire.Enforcement.Recording;
using Wire.Hosting.Configuration;
using Wire.Hosting.State;

namespace Wire.Gateway.Recording;

/// <summary>What <c>wire verify</c> and <c>wire replay</c> share: exit codes, the key from config, one-line reasons.</summary>
internal static class RecordingCommandSupport
{
    /// <summary>A recording failed verification.</summary>
    public const int BadRecording = 1;

    /// <summary>Bad input: usage, a config error, a missing or unreadable file.</summary>
    public const int BadInput = 2;

    /// <summary>
    /// The <c>recording</c> section of <paramref name="configFile"/> (with the shared state's connection string when
    /// recordings live there), or null after printing why it is unusable.
    /// </summary>
    public static (RecordingOptions Options, string? StatePostgres)? LoadKey(FileInfo configFile, TextWriter error)
    {
        try
        {
            if (GatewayConfig.LoadRecording(configFile.FullName) is { } recording)
            {
                return recording;
            }
            error.WriteLine($"wire: {configFile.Name}: recording: required (recordings are checked with recording.key)");
        }
        catch (ConfigException e)
        {
            error.WriteLine($"wire: {configFile.Name}: {e.Message}");
        }
        return null;
    }

    /// <summary>Whether <paramref name="path"/> names recordings of the shared state (<c>postgres:</c> or <c>postgres:SESSION</c>).</summary>
    public static bool IsShared(string path) => path.StartsWith(PostgresRecordingStore.Prefix, StringComparison.Ordinal);

    /// <summary>
    /// The shared store a config's recordings live in, for a <c>postgres:</c> path; null after printing why there is none.
    /// The caller disposes the data source.
    /// </summary>
    public static PostgresRecordingStore? SharedStore(FileInfo configFile, string? statePostgres, TextWriter error, out NpgsqlDataSource? dataSource)
    {
        dataSource = null;
        if (statePostgres is null)
        {
            error.WriteLine($"wire: {configFile.Name}: recording.store is not \"postgres\": this config's recordings are files, not {PostgresRecordingStore.Prefix}");
            return null;
        }
        dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(statePostgres) { ApplicationName = "wire-verify" }.ConnectionString);
        return new PostgresRecordingStore(dataSource);
    }

    /// <summary>A one-line reason for an I/O failure.</summary>
    public static string Reason(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "no such file or directory",
        UnauthorizedAccessException => "permission denied",
        _ => e.Message.ReplaceLineEndings(" "),
    };
}
