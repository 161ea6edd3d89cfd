using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Wire.Enforcement.Recording;
using Wire.Postgres.Tests.Infrastructure;

namespace Wire.Postgres.Tests.Enforcement;

/// <summary>Sessions through Wire are recorded in DESIGN.md §4's format; a failing recorder stops statements (58000).</summary>
[Collection(PostgresCollection.Name)]
public sealed class RecordingTests(PostgresFixture fixture) : IDisposable
{
    private static readonly byte[] Key = Encoding.UTF8.GetBytes("a-recording-key-of-at-least-32-bytes!");
    private readonly string _dir = Directory.CreateTempSubdirectory("wire-rec-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private FileSessionRecorderFactory Factory(string directory, RecordingFailureMode onFailure = RecordingFailureMode.Deny) =>
        new(new RecordingOptions { Directory = directory, Key = Key, OnFailure = onFailure }, TimeProvider.System, NullLoggerFactory.Instance);

    [Fact]
    public async Task A_session_is_recorded_and_verifies()
    {
        await using (var h = EnforcementHarness.Start(fixture, recorder: Factory(_dir)))
        {
            string table = await h.CreateTableAsync();
            var result = await h.Wire.RunPsqlAsync(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=0"], $"""
                SELECT id, v FROM {table} ORDER BY id;
                DROP TABLE {table};
                SELECT 1/0;
                INSERT INTO {table} VALUES (10, 'ten');
                """);
            Assert.Contains("denied by rule no-drop", result.StandardError, StringComparison.Ordinal);

            // Sessions end (and their recordings complete) asynchronously after psql exits.
            for (int i = 0; i < 100 && !File.ReadAllText(Assert.Single(Directory.GetFiles(_dir, "*.jsonl"))).Contains("session.end", StringComparison.Ordinal); i++)
            {
                await Task.Delay(50);
            }
        }

        string file = Assert.Single(Directory.GetFiles(_dir, "*.jsonl"));
        var verification = RecordingVerifier.VerifyFile(file, Key);
        Assert.True(verification.IsValid, verification.ToString());

        var records = File.ReadAllLines(file).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal("session.start", records[0].GetProperty("type").GetString());
        Assert.Equal("alice", records[0].GetProperty("subject").GetString());
        Assert.Equal("app", records[0].GetProperty("target").GetString());
        Assert.Equal("session.end", records[^1].GetProperty("type").GetString());
        Assert.Equal(records.Count, records[^1].GetProperty("records").GetInt32());

        var commands = records.Where(r => r.GetProperty("type").GetString() == "command").ToList();
        var select = commands.First(c => c.GetProperty("text").GetString()!.StartsWith("SELECT id, v", StringComparison.Ordinal));
        Assert.Equal("select", select.GetProperty("kind").GetString());
        Assert.Equal("allow", select.GetProperty("verdict").GetString());
        var drop = commands.Single(c => c.GetProperty("kind").GetString() == "drop");
        Assert.Equal("deny", drop.GetProperty("verdict").GetString());
        Assert.Equal("no-drop", drop.GetProperty("rule").GetString());

        var results = records.Where(r => r.GetProperty("type").GetString() == "result").ToList();
        Assert.Contains(results, r => r.GetProperty("rows").GetInt64() == 3 && r.GetProperty("status").GetString() == "SELECT 3");
        Assert.Contains(results, r => r.GetProperty("status").GetString() == "INSERT 0 1");
        Assert.Contains(records, r => r.GetProperty("type").GetString() == "error" && r.GetProperty("code").GetString() == "22012");
    }

    [Fact]
    public async Task Recorded_text_and_parameters_are_masked()
    {
        var rules = Wire.Enforcement.Policy.RuleSet.Create(
        [
            new Wire.Enforcement.Policy.RuleDefinition
            {
                Name = "pii", Action = Wire.Enforcement.Policy.PolicyAction.Mask, Detectors = ["ssn", "email"],
            },
        ]);
        await using (var h = EnforcementHarness.Start(fixture, rules, Factory(_dir)))
        {
            await using var connection = await h.Wire.OpenClientAsync();
            await using var command = new NpgsqlCommand("SELECT '123-45-6789' AS s, @p AS e", connection);
            command.Parameters.AddWithValue("p", "carol@example.net");
            await using (var reader = await command.ExecuteReaderAsync())
            {
                Assert.True(await reader.ReadAsync());
                Assert.Equal("***********", reader.GetString(0));
                Assert.Equal("*****************", reader.GetString(1));
            }
        }

        string file = Assert.Single(Directory.GetFiles(_dir, "*.jsonl"));
        for (int i = 0; i < 100 && !File.ReadAllText(file).Contains("session.end", StringComparison.Ordinal); i++)
        {
            await Task.Delay(50);
        }
        string text = await File.ReadAllTextAsync(file);
        Assert.Contains("SELECT '***********' AS s", text, StringComparison.Ordinal);
        Assert.DoesNotContain("123-45-6789", text, StringComparison.Ordinal);
        Assert.DoesNotContain("carol@example.net", text, StringComparison.Ordinal);
        Assert.True(RecordingVerifier.VerifyFile(file, Key).IsValid);
    }

    [Fact]
    public async Task A_failing_recorder_refuses_statements_with_58000()
    {
        // A recording directory whose parent is a regular file cannot be created: the recorder is unhealthy from the start.
        string blocker = Path.Combine(_dir, "not-a-directory");
        await File.WriteAllTextAsync(blocker, "x");
        await using var h = EnforcementHarness.Start(fixture, recorder: Factory(Path.Combine(blocker, "recordings")));
        var result = await h.Wire.RunPsqlAsync(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=0", "-v", "VERBOSITY=verbose"], "SELECT 'ran';\nSELECT 'ran again';\n");
        Assert.Contains("58000: wire: the session recording failed; statements are refused", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("ran", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_onFailure_allow_statements_run_unrecorded()
    {
        string blocker = Path.Combine(_dir, "not-a-directory");
        await File.WriteAllTextAsync(blocker, "x");
        await using var h = EnforcementHarness.Start(fixture, recorder: Factory(Path.Combine(blocker, "recordings"), RecordingFailureMode.Allow));
        await using var connection = await h.Wire.OpenClientAsync();
        await using var command = new NpgsqlCommand("SELECT 1", connection);
        Assert.Equal(1, await command.ExecuteScalarAsync());
    }
}
