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

    /// <summary>Whether recordings live in the shared state (<c>recording.store: "postgres"</c>) instead of a directory.</summary>
    public bool RecordingInState { get; private set; }

    /// <summary>
    /// Reads only the <c>recording</c> section of the config file at <paramref name="path"/>, for <c>wire verify</c> and
    /// <c>wire replay</c>: checking recordings needs the key, not the targets' secrets or certificates.
    /// </summary>
    /// <param name="path">The config file; relative to the current directory.</param>
    /// <param name="environment">Resolves <c>env:NAME</c> secrets; defaults to the process environment.</param>
    /// <returns>
    /// The recording options, and the shared state's connection string when recordings live there
    /// (<c>recording.store: "postgres"</c>); null when the file has no <c>recording</c> section.
    /// </returns>
    /// <exception cref="ConfigException">The file cannot be read, is not JSON, or its <c>recording</c> section is invalid.</exception>
    public static (RecordingOptions Options, string? StatePostgres)? LoadRecording(string path, Func<string, string?>? environment = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fullPath = Path.GetFullPath(path);
        using (var document = ParseDocument(ReadFile(fullPath), fullPath))
        {
            var root = ConfigReader.Root(document.RootElement, Path.GetDirectoryName(fullPath)!, environment ?? Environment.GetEnvironmentVariable);
            if (root.GetObject("recording") is not { } recording)
            {
                return null;
            }
            var options = ReadRecordingOptions(recording, root, out bool inState);
            return (options, inState ? ReadStatePostgres(root) : null);
        }
    }

    private static readonly Dictionary<string, bool> Stores = new(StringComparer.Ordinal) { ["directory"] = false, ["postgres"] = true };

    private void ReadRecording(ConfigReader root)
    {
        if (root.GetObject("recording") is { } recording)
        {
            Recording = ReadRecordingOptions(recording, root, out bool inState);
            RecordingInState = inState;
        }
    }

    private static RecordingOptions ReadRecordingOptions(ConfigReader recording, ConfigReader root, out bool inState)
    {
        recording.EnsureOnly("store", "directory", "key", "onFailure", "queueCapacity");

        inState = recording.GetChoice("store", Stores, false);
        string directory = string.Empty;
        if (inState)
        {
            if (root.GetObject("state") is null)
            {
                recording.Fail("store", "\"postgres\" keeps recordings in the shared state: it needs state.postgres");
            }
            if (recording.Has("directory"))
            {
                recording.Fail("directory", "not used: recordings are kept in the shared state (store is \"postgres\")");
            }
        }
        else
        {
            // Created by the recorder when missing, so loading a config (wire run --check-config, wire verify) changes nothing on disk.
            directory = recording.GetPath("directory", mustExist: false) ?? throw recording.Required("directory");
            if (File.Exists(directory))
            {
                recording.Fail("directory", $"{directory} is a file, not a directory");
            }
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
