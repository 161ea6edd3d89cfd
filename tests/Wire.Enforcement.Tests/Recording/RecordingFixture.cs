using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Wire.Enforcement.Recording;
using Wire.Enforcement.Tests.Identity;

namespace Wire.Enforcement.Tests.Recording;

/// <summary>A scratch recording directory, a key, a hand-moved clock and a capturing logger; deleted on dispose.</summary>
internal sealed class RecordingFixture : IDisposable
{
    public static readonly DateTimeOffset Start = new DateTimeOffset(2026, 11, 22, 10, 0, 0, TimeSpan.Zero).AddTicks(1_234_560);

    public static readonly byte[] Key = Encoding.UTF8.GetBytes("test-recording-key-0123456789-abcdefghij");

    public static readonly byte[] OtherKey = Encoding.UTF8.GetBytes("another-recording-key-9876543210-zyxwvu");

    public RecordingFixture()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("wire-recording-").FullName;
        RecordingsDirectory = Path.Combine(Directory, "recordings");
    }

    /// <summary>The scratch root.</summary>
    public string Directory { get; }

    /// <summary>Where the factory records; created by it.</summary>
    public string RecordingsDirectory { get; }

    public ManualTimeProvider Clock { get; } = new(Start);

    public CapturingLogger Logger { get; } = new();

    public static SessionStartEvent StartEvent => new("postgres", "alice", ["eng", "ops"], "10.0.0.5:51234", "app", Tls: true)
    {
        Database = "app",
        User = "alice",
    };

    public FileSessionRecorderFactory Factory(Func<string, Stream>? openStream = null, int queueCapacity = RecordingOptions.DefaultQueueCapacity)
    {
        var options = new RecordingOptions { Directory = RecordingsDirectory, Key = Key, QueueCapacity = queueCapacity };
        var loggerFactory = new SingleLoggerFactory(Logger);
        return openStream is null
            ? new FileSessionRecorderFactory(options, Clock, loggerFactory)
            : new FileSessionRecorderFactory(options, Clock, loggerFactory, openStream);
    }

    public string PathOf(string sessionId) => Path.Combine(RecordingsDirectory, sessionId + ".jsonl");

    /// <summary>Records a six-record session (start, command, result, reviewed command, error, end) and returns its file.</summary>
    public async Task<string> RecordSampleAsync(string sessionId = "s1")
    {
        var recorder = Factory().Start(sessionId, StartEvent);
        Clock.Now = Start.AddMilliseconds(120);
        Assert.True(recorder.TryRecord(new CommandEvent("SELECT * FROM customers WHERE id = $1", ["5"], "select", RecordedVerdict.Allow,
            null, null, "allowed")));
        Clock.Now = Start.AddMilliseconds(131);
        Assert.True(recorder.TryRecord(new ResultEvent(1, 210, new Dictionary<string, long> { ["public.customers.ssn"] = 1 },
            TimeSpan.FromMilliseconds(11.25)) { Status = "SELECT 1" }));
        Clock.Now = Start.AddSeconds(2.5);
        Assert.True(recorder.TryRecord(new CommandEvent("DELETE FROM orders WHERE id = 7", null, "delete", RecordedVerdict.Review,
            "prod-writes", "bob", "approved")));
        Clock.Now = Start.AddSeconds(3);
        Assert.True(recorder.TryRecord(new ErrorEvent("42501", "permission denied for table orders")));
        Clock.Now = Start.AddSeconds(9);
        await recorder.CompleteAsync("client disconnected");
        Assert.True(recorder.IsHealthy);
        return PathOf(sessionId);
    }

    /// <summary>The file's lines without their newlines.</summary>
    public static List<byte[]> Lines(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var lines = new List<byte[]>();
        var start = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == (byte)'\n')
            {
                lines.Add(bytes[start..i]);
                start = i + 1;
            }
        }
        Assert.Equal(bytes.Length, start);
        return lines;
    }

    /// <summary>Writes <paramref name="lines"/>, each followed by a newline, to a new file and returns its path.</summary>
    public string WriteCopy(IEnumerable<byte[]> lines, string name = "copy.jsonl")
    {
        var path = Path.Combine(Directory, name);
        using var file = File.Create(path);
        foreach (var line in lines)
        {
            file.Write(line);
            file.WriteByte((byte)'\n');
        }
        return path;
    }

    /// <summary>Writes raw bytes to a new file and returns its path.</summary>
    public string WriteBytes(byte[] bytes, string name = "copy.jsonl")
    {
        var path = Path.Combine(Directory, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Signs <paramref name="body"/> (a line up to, not including, <c>,"mac":"</c>) as the recorder would.</summary>
    public static byte[] Sign(string body, byte[]? key = null)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var mac = Convert.ToHexStringLower(HMACSHA256.HashData(key ?? Key, bytes));
        return [.. bytes, .. Encoding.UTF8.GetBytes($",\"mac\":\"{mac}\"}}")];
    }

    /// <summary>The hex SHA-256 of a line, as <c>prev</c> of the next one.</summary>
    public static string Hash(byte[] line) => Convert.ToHexStringLower(SHA256.HashData(line));

    public static RecordingVerification Verify(string path, byte[]? key = null) => RecordingVerifier.VerifyFile(path, key ?? Key);

    /// <summary>Waits until <paramref name="condition"/> holds; fails after a generous timeout.</summary>
    public static async Task EventuallyAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(10);
        }
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }

    private sealed class SingleLoggerFactory(ILogger logger) : ILoggerFactory
    {
        public void AddProvider(ILoggerProvider provider)
        {
        }

        public ILogger CreateLogger(string categoryName) => logger;

        public void Dispose()
        {
        }
    }
}
