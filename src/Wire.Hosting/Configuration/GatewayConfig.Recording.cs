using System.Text;
using System.Text.Json;
using Wire.Enforcement.Recording;

namespace Wire.Hosting.Configuration;

internal sealed partial class GatewayConfig
{
    private static readonly Dictionary<string, RecordingFailureMode> FailureModes = new(StringComparer.Ordinal)
    {
        ["deny"] = RecordingFailureMode.Deny,
        ["allow"] = RecordingFailureMode.Allow,
    };

    /// <summary>Session recording from the <c>recording</c> section, key resolved; null when the section is absent.</summary>
    public RecordingOptions? Recording { get; private set; }

    /// <summary>
    /// Reads only the <c>recording</c> section of the config file at <paramref name="path"/>, for <c>wire verify</c> and
    /// <c>wire replay</c>: checking recordings needs the key, not the targets' secrets or certificates.
    /// </summary>
    /// <param name="path">The config file; relative to the current directory.</param>
    /// <param name="environment">Resolves <c>env:NAME</c> secrets; defaults to the process environment.</param>
    /// <returns>The recording options; null when the file has no <c>recording</c> section.</returns>
    /// <exception cref="ConfigException">The file cannot be read, is not JSON, or its <c>recording</c> section is invalid.</exception>
    public static RecordingOptions? LoadRecording(string path, Func<string, string?>? environment = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fullPath = Path.GetFullPath(path);
        byte[] json;
        try
        {
            json = File.ReadAllBytes(fullPath);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ConfigException($"{fullPath}: config file does not exist", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"{fullPath}: cannot read config file: {e.Message}", e);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException e)
        {
            // As in Load: the position only, never the offending text, which could belong to a secret.
            var where = e.LineNumber is { } line && e.BytePositionInLine is { } column ? $" at line {line + 1}, byte {column + 1}" : string.Empty;
            throw new ConfigException($"{fullPath}: invalid JSON{where}");
        }
        using (document)
        {
            var root = ConfigReader.Root(document.RootElement, Path.GetDirectoryName(fullPath)!, environment ?? Environment.GetEnvironmentVariable);
            return root.GetObject("recording") is { } recording ? ReadRecordingOptions(recording) : null;
        }
    }

    private void ReadRecording(ConfigReader root)
    {
        if (root.GetObject("recording") is { } recording)
        {
            Recording = ReadRecordingOptions(recording);
        }
    }

    private static RecordingOptions ReadRecordingOptions(ConfigReader recording)
    {
        recording.EnsureOnly("directory", "key", "onFailure", "queueCapacity");

        // Created by the recorder when missing, so loading a config (wire run --check-config, wire verify) changes nothing on disk.
        var directory = recording.GetPath("directory", mustExist: false) ?? throw recording.Required("directory");
        if (File.Exists(directory))
        {
            recording.Fail("directory", $"{directory} is a file, not a directory");
        }

        var key = recording.GetSecret("key") ?? throw recording.Required("key");
        var keyBytes = Encoding.UTF8.GetBytes(key);
        if (keyBytes.Length < RecordingOptions.MinKeyBytes)
        {
            recording.Fail("key", $"must be at least {RecordingOptions.MinKeyBytes} bytes of UTF-8");
        }

        return new RecordingOptions
        {
            Directory = directory,
            Key = keyBytes,
            OnFailure = recording.GetChoice("onFailure", FailureModes, RecordingFailureMode.Deny),
            QueueCapacity = recording.GetInt("queueCapacity", 1, RecordingOptions.MaxQueueCapacity, RecordingOptions.DefaultQueueCapacity),
        };
    }
}
