using System.Text;
using Wire.Enforcement.Recording;
using Wire.Hosting.Configuration;
using static Wire.Gateway.Tests.Configuration.GatewayConfigTests;

namespace Wire.Gateway.Tests.Configuration;

public sealed class GatewayConfigRecordingTests : IDisposable
{
    private const string Key = "recording-key-0123456789-abcdefghijklmnop";

    private readonly TempConfigDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string? RecordingEnv(string name) => name switch
    {
        "WIRE_RECORDING_KEY" => Key,
        "SHORT_KEY" => "short",
        _ => Env(name),
    };

    private GatewayConfig Parse(string json) => GatewayConfig.Parse(Json(json), _dir.Path, RecordingEnv);

    private ConfigException Fail(string json)
    {
        var e = Assert.Throws<ConfigException>(() => Parse(json));
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain(Key, e.Message, StringComparison.Ordinal);
        return e;
    }

    [Fact]
    public void Minimal_section_takes_the_defaults()
    {
        var config = Parse("{ 'recording': { 'directory': 'recordings', 'key': 'env:WIRE_RECORDING_KEY' } }");

        var recording = Assert.IsType<RecordingOptions>(config.Recording);
        Assert.Equal(Path.Combine(_dir.Path, "recordings"), recording.Directory);
        Assert.Equal(Encoding.UTF8.GetBytes(Key), recording.Key.ToArray());
        Assert.Equal(RecordingFailureMode.Deny, recording.OnFailure);
        Assert.Equal(RecordingOptions.DefaultQueueCapacity, recording.QueueCapacity);
        // Loading a config changes nothing on disk; the recorder creates the directory.
        Assert.False(Directory.Exists(recording.Directory));
    }

    [Fact]
    public void Every_key_is_read()
    {
        _dir.Write("secrets/recording.key", Key + "\n");
        var absolute = Path.Combine(_dir.Path, "elsewhere");

        var config = Parse($"{{ 'recording': {{ 'directory': '{absolute}', 'key': 'file:secrets/recording.key', 'onFailure': 'allow', 'queueCapacity': 10 }} }}");

        var recording = config.Recording!;
        Assert.Equal(absolute, recording.Directory);
        Assert.Equal(Encoding.UTF8.GetBytes(Key), recording.Key.ToArray());
        Assert.Equal(RecordingFailureMode.Allow, recording.OnFailure);
        Assert.Equal(10, recording.QueueCapacity);
    }

    [Fact]
    public void Absent_or_null_section_means_no_recording()
    {
        Assert.Null(Parse("{ }").Recording);
        Assert.Null(Parse("{ 'recording': null }").Recording);
    }

    [Fact]
    public void Key_length_counts_utf8_bytes()
    {
        // 16 characters, 32 bytes.
        Assert.Equal(32, Parse("{ 'recording': { 'directory': 'r', 'key': 'éééééééééééééééé' } }").Recording!.Key.Length);
        Assert.Equal("recording.key: must be at least 32 bytes of UTF-8",
            Fail("{ 'recording': { 'directory': 'r', 'key': 'ééééééééééééééé' } }").Message);
    }

    [Theory]
    [InlineData("{ 'recording': { 'directory': 'r' } }", "recording.key: required")]
    [InlineData("{ 'recording': { 'key': 'env:WIRE_RECORDING_KEY' } }", "recording.directory: required")]
    [InlineData("{ 'recording': { 'directory': 'r', 'key': '0123456789012345678901234567890' } }", "recording.key: must be at least 32 bytes of UTF-8")]
    [InlineData("{ 'recording': { 'directory': 'r', 'key': 'env:SHORT_KEY' } }", "recording.key: must be at least 32 bytes of UTF-8")]
    [InlineData("{ 'recording': { 'directory': 'r', 'key': 'env:NOT_SET' } }", "recording.key: environment variable NOT_SET is not set")]
    [InlineData("{ 'recording': { 'directory': 'r', 'key': 42 } }", "recording.key: must be a string (a literal, env:NAME or file:PATH)")]
    [InlineData("{ 'recording': { 'directory': 'r', 'key': 'env:WIRE_RECORDING_KEY', 'keys': 'x' } }", "recording.keys: unknown key")]
    [InlineData("{ 'recording': { 'directory': 'r', 'key': 'env:WIRE_RECORDING_KEY', 'onFailure': 'block' } }",
        "recording.onFailure: must be one of deny, allow")]
    [InlineData("{ 'recording': { 'directory': 'r', 'key': 'env:WIRE_RECORDING_KEY', 'onFailure': 'Deny' } }",
        "recording.onFailure: must be one of deny, allow")]
    [InlineData("{ 'recording': { 'directory': 'r', 'key': 'env:WIRE_RECORDING_KEY', 'queueCapacity': 0 } }",
        "recording.queueCapacity: must be an integer from 1 to 1000000")]
    [InlineData("{ 'recording': { 'directory': 'r', 'key': 'env:WIRE_RECORDING_KEY', 'queueCapacity': '10' } }",
        "recording.queueCapacity: must be an integer from 1 to 1000000")]
    [InlineData("{ 'recording': { 'directory': '', 'key': 'env:WIRE_RECORDING_KEY' } }", "recording.directory: must not be empty")]
    [InlineData("{ 'recording': 'recordings' }", "recording: must be an object")]
    public void Errors_name_the_key(string json, string message) => Assert.Equal(message, Fail(json).Message);

    [Fact]
    public void Missing_key_file_is_named()
    {
        var path = Path.Combine(_dir.Path, "missing.key");
        Assert.Equal($"recording.key: file {path} does not exist",
            Fail("{ 'recording': { 'directory': 'r', 'key': 'file:missing.key' } }").Message);
    }

    [Fact]
    public void Short_key_file_is_refused()
    {
        _dir.Write("short.key", "0123456789\n");
        Assert.Equal("recording.key: must be at least 32 bytes of UTF-8",
            Fail("{ 'recording': { 'directory': 'r', 'key': 'file:short.key' } }").Message);
    }

    [Fact]
    public void Directory_that_is_a_file_is_refused()
    {
        var path = _dir.Write("taken", "a file");
        Assert.Equal($"recording.directory: {path} is a file, not a directory",
            Fail("{ 'recording': { 'directory': 'taken', 'key': 'env:WIRE_RECORDING_KEY' } }").Message);
    }

    [Fact]
    public void Recording_changes_need_a_restart()
    {
        var first = Parse("{ 'recording': { 'directory': 'a', 'key': 'env:WIRE_RECORDING_KEY' } }");
        var second = Parse("{ 'recording': { 'directory': 'b', 'key': 'env:WIRE_RECORDING_KEY' } }");
        Assert.NotEqual(first.RestartFingerprint, second.RestartFingerprint);
    }

    [Fact]
    public void LoadRecording_reads_only_the_recording_section()
    {
        // Targets whose secrets are not set and unknown keys elsewhere do not matter to wire verify.
        var path = _dir.Write("gateway.json", Json(
            "{ 'postgres': { 'targets': [ { 'name': 'db', 'host': 'h', 'username': 'u', 'password': 'env:UNSET_PASSWORD' } ] }, 'future': 1,"
            + " 'recording': { 'directory': 'recordings', 'key': 'env:WIRE_RECORDING_KEY' } }"));

        var (recording, state) = GatewayConfig.LoadRecording(path, RecordingEnv)!.Value;

        Assert.Equal(Path.Combine(_dir.Path, "recordings"), recording.Directory);
        Assert.Equal(Encoding.UTF8.GetBytes(Key), recording.Key.ToArray());
        Assert.Null(state);
    }

    [Fact]
    public void Recordings_in_the_shared_state_need_it_and_no_directory()
    {
        var path = _dir.Write("shared.json", Json(
            "{ 'state': { 'postgres': 'Host=db;Username=wire;Password=pw' }, 'postgres': { 'targets': [ { 'name': 'db', 'host': 'h', 'username': 'u', 'password': 'env:UNSET' } ] },"
            + " 'recording': { 'store': 'postgres', 'key': 'env:WIRE_RECORDING_KEY' } }"));
        var (recording, state) = GatewayConfig.LoadRecording(path, RecordingEnv)!.Value;
        Assert.Equal("Host=db;Username=wire;Password=pw", state);
        Assert.Equal(string.Empty, recording.Directory);

        Assert.Contains("recording.store: \"postgres\" keeps recordings in the shared state: it needs state.postgres",
            Assert.Throws<ConfigException>(() => GatewayConfig.LoadRecording(_dir.Write("nostate.json",
                Json("{ 'recording': { 'store': 'postgres', 'key': 'env:WIRE_RECORDING_KEY' } }")), RecordingEnv)).Message, StringComparison.Ordinal);
        Assert.Contains("recording.directory: not used",
            Assert.Throws<ConfigException>(() => GatewayConfig.LoadRecording(_dir.Write("both.json", Json(
                "{ 'state': { 'postgres': 'Host=db' }, 'recording': { 'store': 'postgres', 'directory': 'r', 'key': 'env:WIRE_RECORDING_KEY' } }")),
                RecordingEnv)).Message, StringComparison.Ordinal);
        Assert.Contains("recording.store",
            Assert.Throws<ConfigException>(() => GatewayConfig.LoadRecording(_dir.Write("unknown.json", Json(
                "{ 'recording': { 'store': 's3', 'directory': 'r', 'key': 'env:WIRE_RECORDING_KEY' } }")), RecordingEnv)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadRecording_reports_errors_and_absence()
    {
        Assert.Null(GatewayConfig.LoadRecording(_dir.Write("none.json", "{ }"), RecordingEnv));
        Assert.Equal("recording.key: required",
            Assert.Throws<ConfigException>(() => GatewayConfig.LoadRecording(_dir.Write("bad.json", Json("{ 'recording': { 'directory': 'r' } }")))).Message);
        Assert.EndsWith("invalid JSON at line 1, byte 3",
            Assert.Throws<ConfigException>(() => GatewayConfig.LoadRecording(_dir.Write("broken.json", "{ x"))).Message, StringComparison.Ordinal);
        Assert.EndsWith("config file does not exist",
            Assert.Throws<ConfigException>(() => GatewayConfig.LoadRecording(Path.Combine(_dir.Path, "nope.json"))).Message, StringComparison.Ordinal);
    }
}
