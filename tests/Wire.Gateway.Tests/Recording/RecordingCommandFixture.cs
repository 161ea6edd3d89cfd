using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Wire.Enforcement.Recording;

namespace Wire.Gateway.Tests.Recording;

/// <summary>A config with a recording key, recordings made by the real recorder, and the <c>wire</c> command line run in-process.</summary>
internal sealed class RecordingCommandFixture : IDisposable
{
    public const string Key = "cli-recording-key-0123456789-abcdefghijkl";

    public RecordingCommandFixture()
    {
        Root = Directory.CreateTempSubdirectory("wire-recording-cli-").FullName;
        RecordingsDirectory = Path.Combine(Root, "recordings");
        File.WriteAllText(Path.Combine(Root, "recording.key"), Key + "\n");
        ConfigPath = WriteConfig("gateway.json", """{ "recording": { "directory": "recordings", "key": "file:recording.key" } }""");
    }

    public string Root { get; }

    public string RecordingsDirectory { get; }

    public string ConfigPath { get; }

    public string WriteConfig(string name, string json)
    {
        var path = Path.Combine(Root, name);
        File.WriteAllText(path, json);
        return path;
    }

    /// <summary>Records a three-record session (start, command, end) and returns its file.</summary>
    public async Task<string> RecordAsync(string sessionId, string text = "SELECT 1")
    {
        var factory = new FileSessionRecorderFactory(
            new RecordingOptions { Directory = RecordingsDirectory, Key = Encoding.UTF8.GetBytes(Key) }, TimeProvider.System, NullLoggerFactory.Instance);
        var recorder = factory.Start(sessionId, new SessionStartEvent("postgres", "alice", ["eng"], "127.0.0.1:5000", "app", Tls: false));
        Assert.True(recorder.TryRecord(new CommandEvent(text, null, "select", RecordedVerdict.Allow, null, null, "allowed")));
        await recorder.CompleteAsync("client disconnected");
        return Path.Combine(RecordingsDirectory, sessionId + ".jsonl");
    }

    /// <summary>Runs <c>wire ARGS</c> in-process.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter { NewLine = "\n" };
        using var error = new StringWriter { NewLine = "\n" };
        var exitCode = await WireCommandLine.InvokeAsync(args, output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}
