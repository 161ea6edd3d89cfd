using Wire.Enforcement.Recording;
using Wire.Hosting.Configuration;

namespace Wire.Gateway.Recording;

/// <summary>What <c>wire verify</c> and <c>wire replay</c> share: exit codes, the key from config, one-line reasons.</summary>
internal static class RecordingCommandSupport
{
    /// <summary>A recording failed verification.</summary>
    public const int BadRecording = 1;

    /// <summary>Bad input: usage, a config error, a missing or unreadable file.</summary>
    public const int BadInput = 2;

    /// <summary>The <c>recording</c> section of <paramref name="configFile"/>, or null after printing why it is unusable.</summary>
    public static RecordingOptions? LoadKey(FileInfo configFile, TextWriter error)
    {
        try
        {
            if (GatewayConfig.LoadRecording(configFile.FullName) is { } options)
            {
                return options;
            }
            error.WriteLine($"wire: {configFile.Name}: recording: required (recordings are checked with recording.key)");
        }
        catch (ConfigException e)
        {
            error.WriteLine($"wire: {configFile.Name}: {e.Message}");
        }
        return null;
    }

    /// <summary>A one-line reason for an I/O failure.</summary>
    public static string Reason(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "no such file or directory",
        UnauthorizedAccessException => "permission denied",
        _ => e.Message.ReplaceLineEndings(" "),
    };
}
