namespace Wire.Gateway.Tests.Recording;

public sealed class WireReplayCommandTests : IDisposable
{
    private readonly RecordingCommandFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task Replay_prints_the_transcript()
    {
        var path = await _fixture.RecordAsync("s1", text: "SELECT name FROM customers");

        var (exitCode, output, error) = await RecordingCommandFixture.RunAsync("replay", path);

        Assert.Equal(0, exitCode);
        Assert.Empty(error);
        var lines = output.TrimEnd('\n').Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.StartsWith("session s1, recorded from ", lines[0], StringComparison.Ordinal);
        Assert.Matches(@"^\+00:00:00\.000 session\.start   alice \[eng\] from 127\.0\.0\.1:5000 to app \(postgres, no tls\)$", lines[1]);
        Assert.EndsWith(" command         select allow by default, allowed: SELECT name FROM customers", lines[2], StringComparison.Ordinal);
        Assert.EndsWith(" session.end     client disconnected, 3 records", lines[3], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replay_with_config_also_verifies()
    {
        var path = await _fixture.RecordAsync("s1");

        var (exitCode, output, _) = await RecordingCommandFixture.RunAsync("replay", path, "--config", _fixture.ConfigPath);

        Assert.Equal(0, exitCode);
        Assert.EndsWith(" records\nOK: 3 records verified\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replay_of_a_bad_recording_shows_it_and_exits_1()
    {
        var path = await _fixture.RecordAsync("s1");
        var bytes = await File.ReadAllBytesAsync(path);
        await File.WriteAllBytesAsync(path, bytes[..^30]);

        var (exitCode, output, _) = await RecordingCommandFixture.RunAsync("replay", path, "--config", _fixture.ConfigPath);

        Assert.Equal(1, exitCode);
        Assert.Contains(" command ", output, StringComparison.Ordinal);
        Assert.EndsWith("line 3: incomplete (the recording was cut off or is still being written)\nBAD: record 3: truncated\n", output,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replay_of_a_missing_file_exits_2()
    {
        var path = Path.Combine(_fixture.Root, "nope.jsonl");

        var (exitCode, output, error) = await RecordingCommandFixture.RunAsync("replay", path);

        Assert.Equal(2, exitCode);
        Assert.Empty(output);
        Assert.Equal($"wire: {path}: no such file or directory\n", error);
    }

    [Fact]
    public async Task Replay_of_a_directory_exits_2()
    {
        await _fixture.RecordAsync("s1");

        var (exitCode, _, error) = await RecordingCommandFixture.RunAsync("replay", _fixture.RecordingsDirectory);

        Assert.Equal(2, exitCode);
        Assert.Equal($"wire: {_fixture.RecordingsDirectory}: is a directory; replay takes one recording\n", error);
    }

    [Fact]
    public async Task Replay_with_a_bad_config_prints_nothing_and_exits_2()
    {
        var path = await _fixture.RecordAsync("s1");
        var bad = _fixture.WriteConfig("bad.json", """{ "recording": { "directory": "recordings", "key": "file:missing.key" } }""");

        var (exitCode, output, error) = await RecordingCommandFixture.RunAsync("replay", path, "--config", bad);

        Assert.Equal(2, exitCode);
        Assert.Empty(output);
        Assert.Equal($"wire: bad.json: recording.key: file {Path.Combine(_fixture.Root, "missing.key")} does not exist\n", error);
    }

    [Fact]
    public async Task Replay_without_a_file_exits_2() =>
        Assert.Equal(2, (await RecordingCommandFixture.RunAsync("replay")).ExitCode);
}
