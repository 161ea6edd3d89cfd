using Wire.Gateway.Tests.Configuration;

namespace Wire.Gateway.Tests.Recording;

public sealed class WireVerifyCommandTests : IDisposable
{
    private readonly RecordingCommandFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task A_good_recording_is_ok()
    {
        var path = await _fixture.RecordAsync("s1");

        var (exitCode, output, error) = await RecordingCommandFixture.RunAsync("verify", path, "--config", _fixture.ConfigPath);

        Assert.Equal(0, exitCode);
        Assert.Equal($"OK {path} (3 records)\n", output);
        Assert.Empty(error);
    }

    [Fact]
    public async Task A_directory_gets_one_line_per_file_and_fails_if_any_is_bad()
    {
        var good = await _fixture.RecordAsync("a-good");
        var edited = await _fixture.RecordAsync("b-edited", text: "SELECT 'original'");
        await File.WriteAllTextAsync(edited, (await File.ReadAllTextAsync(edited)).Replace("original", "modified", StringComparison.Ordinal));

        var (exitCode, output, error) = await RecordingCommandFixture.RunAsync("verify", _fixture.RecordingsDirectory, "--config", _fixture.ConfigPath);

        Assert.Equal(1, exitCode);
        Assert.Equal($"OK {good} (3 records)\nBAD {edited}: record 2: edited\n", output);
        Assert.Empty(error);
    }

    [Fact]
    public async Task Truncated_and_wrong_key_recordings_are_bad()
    {
        var truncated = await _fixture.RecordAsync("truncated");
        var lines = await File.ReadAllLinesAsync(truncated);
        await File.WriteAllLinesAsync(truncated, lines[..^1]);
        var otherKey = _fixture.WriteConfig("other.json", """{ "recording": { "directory": "recordings", "key": "a-completely-different-key-of-40-bytes!!" } }""");

        var (exitCode, output, _) = await RecordingCommandFixture.RunAsync("verify", truncated, "--config", _fixture.ConfigPath);
        Assert.Equal((1, $"BAD {truncated}: record 3: truncated\n"), (exitCode, output));

        var good = await _fixture.RecordAsync("good");
        (exitCode, output, _) = await RecordingCommandFixture.RunAsync("verify", good, "--config", otherKey);
        Assert.Equal((1, $"BAD {good}: record 1: wrong key\n"), (exitCode, output));
    }

    [Fact]
    public async Task A_missing_path_is_bad_input()
    {
        var path = Path.Combine(_fixture.Root, "nope.jsonl");

        var (exitCode, output, error) = await RecordingCommandFixture.RunAsync("verify", path, "--config", _fixture.ConfigPath);

        Assert.Equal(2, exitCode);
        Assert.Empty(output);
        Assert.Equal($"wire: {path}: no such file or directory\n", error);
    }

    [Fact]
    public async Task A_directory_without_recordings_is_bad_input()
    {
        Directory.CreateDirectory(_fixture.RecordingsDirectory);

        var (exitCode, _, error) = await RecordingCommandFixture.RunAsync("verify", _fixture.RecordingsDirectory, "--config", _fixture.ConfigPath);

        Assert.Equal(2, exitCode);
        Assert.Equal($"wire: {_fixture.RecordingsDirectory}: no *.jsonl recordings under this directory\n", error);
    }

    [Fact]
    public async Task A_bad_config_exits_2_with_one_line()
    {
        var path = await _fixture.RecordAsync("s1");
        var shortKey = _fixture.WriteConfig("short.json", """{ "recording": { "directory": "recordings", "key": "too-short-secret" } }""");

        var (exitCode, output, error) = await RecordingCommandFixture.RunAsync("verify", path, "--config", shortKey);

        Assert.Equal(2, exitCode);
        Assert.Empty(output);
        Assert.Equal("wire: short.json: recording.key: must be at least 32 bytes of UTF-8\n", error);
    }

    [Fact]
    public async Task A_config_without_recording_exits_2()
    {
        var path = await _fixture.RecordAsync("s1");
        var none = _fixture.WriteConfig("none.json", "{ }");

        var (exitCode, _, error) = await RecordingCommandFixture.RunAsync("verify", path, "--config", none);

        Assert.Equal(2, exitCode);
        Assert.Equal("wire: none.json: recording: required (recordings are checked with recording.key)\n", error);
    }

    [Fact]
    public async Task A_missing_config_file_exits_2()
    {
        var path = await _fixture.RecordAsync("s1");

        var (exitCode, _, error) = await RecordingCommandFixture.RunAsync("verify", path, "--config", Path.Combine(_fixture.Root, "missing.json"));

        Assert.Equal(2, exitCode);
        Assert.Equal($"wire: missing.json: {Path.Combine(_fixture.Root, "missing.json")}: config file does not exist\n", error);
    }

    [Fact]
    public async Task Usage_mistakes_exit_2()
    {
        var path = await _fixture.RecordAsync("s1");

        Assert.Equal(2, (await RecordingCommandFixture.RunAsync("verify", path)).ExitCode);
        Assert.Equal(2, (await RecordingCommandFixture.RunAsync("verify", "--config", _fixture.ConfigPath)).ExitCode);
    }

    [Fact]
    public async Task Other_sections_of_the_config_do_not_matter()
    {
        var path = await _fixture.RecordAsync("s1");
        var config = _fixture.WriteConfig("full.json", """
            {
              "postgres": { "targets": [ { "name": "db", "host": "h", "username": "u", "password": "env:WIRE_TEST_UNSET_PASSWORD" } ] },
              "recording": { "directory": "recordings", "key": "file:recording.key" }
            }
            """);

        var (exitCode, output, _) = await RecordingCommandFixture.RunAsync("verify", path, "--config", config);

        Assert.Equal((0, $"OK {path} (3 records)\n"), (exitCode, output));
    }

    [Fact]
    public async Task The_example_in_the_docs_verifies_and_replays()
    {
        // docs/recording.md shows a whole recording and its key; keep them true.
        var doc = (await File.ReadAllTextAsync(Path.Combine(GatewayConfigTests.RepositoryRoot(), "docs", "recording.md"))).ReplaceLineEndings("\n");
        const string intro = "signed with the key\n`example-key-do-not-use-0123456789abcdef`:\n\n```\n";
        var start = doc.IndexOf(intro, StringComparison.Ordinal) + intro.Length;
        var recording = doc[start..doc.IndexOf("```", start, StringComparison.Ordinal)];
        var path = Path.Combine(_fixture.Root, "7f3c2a9e.jsonl");
        await File.WriteAllTextAsync(path, recording);
        var config = _fixture.WriteConfig("docs.json", """{ "recording": { "directory": "r", "key": "example-key-do-not-use-0123456789abcdef" } }""");

        var (exitCode, output, _) = await RecordingCommandFixture.RunAsync("verify", path, "--config", config);
        Assert.Equal((0, $"OK {path} (8 records)\n"), (exitCode, output));

        (exitCode, output, _) = await RecordingCommandFixture.RunAsync("replay", path);
        Assert.Equal(0, exitCode);
        Assert.Contains(output.Split('\n')[7], doc, StringComparison.Ordinal);
    }
}
