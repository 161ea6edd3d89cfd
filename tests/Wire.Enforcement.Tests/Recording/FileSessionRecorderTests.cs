using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Wire.Enforcement.Recording;

namespace Wire.Enforcement.Tests.Recording;

public sealed class FileSessionRecorderTests : IDisposable
{
    private readonly RecordingFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task Recorded_session_verifies()
    {
        var path = await _fixture.RecordSampleAsync();

        var result = RecordingFixture.Verify(path);

        Assert.True(result.IsValid, result.Detail);
        Assert.Equal(6, result.Records);
        Assert.Equal(0, result.BadRecord);
        Assert.Equal(path, result.Path);
    }

    [Fact]
    public async Task Lines_follow_the_documented_layout()
    {
        var path = await _fixture.RecordSampleAsync();
        var lines = RecordingFixture.Lines(path);

        Assert.Equal(6, lines.Count);
        var previous = new string('0', 64);
        for (var i = 0; i < lines.Count; i++)
        {
            var text = Encoding.UTF8.GetString(lines[i]);
            Assert.StartsWith($"{{\"v\":1,\"seq\":{i + 1},\"ts\":\"2026-11-22T10:00:0", text);
            Assert.Contains($",\"session\":\"s1\",\"type\":\"", text);

            // mac: the last field, HMAC-SHA256 over every byte before ,"mac":"
            var macAt = text.LastIndexOf(",\"mac\":\"", StringComparison.Ordinal);
            Assert.Equal(text.Length - 74, macAt);
            var expectedMac = Convert.ToHexStringLower(HMACSHA256.HashData(RecordingFixture.Key, lines[i].AsSpan(0, macAt)));
            Assert.Equal($",\"mac\":\"{expectedMac}\"}}", text[macAt..]);

            // prev: SHA-256 of the previous line's exact bytes, zeros for the first
            Assert.EndsWith($",\"prev\":\"{previous}\"", text[..macAt]);
            previous = RecordingFixture.Hash(lines[i]);
        }

        using var start = JsonDocument.Parse(lines[0]);
        Assert.Equal("2026-11-22T10:00:00.123456Z", start.RootElement.GetProperty("ts").GetString());
        Assert.Equal("session.start", start.RootElement.GetProperty("type").GetString());
        Assert.Equal("alice", start.RootElement.GetProperty("subject").GetString());
        Assert.Equal("[\"eng\",\"ops\"]", start.RootElement.GetProperty("groups").GetRawText());
        Assert.True(start.RootElement.GetProperty("tls").GetBoolean());
        Assert.Equal("app", start.RootElement.GetProperty("database").GetString());

        using var command = JsonDocument.Parse(lines[1]);
        Assert.Equal("2026-11-22T10:00:00.243456Z", command.RootElement.GetProperty("ts").GetString());
        Assert.Equal("[\"5\"]", command.RootElement.GetProperty("parameters").GetRawText());
        Assert.Equal("allow", command.RootElement.GetProperty("verdict").GetString());
        Assert.Equal(JsonValueKind.Null, command.RootElement.GetProperty("rule").ValueKind);

        using var result = JsonDocument.Parse(lines[2]);
        Assert.Equal("{\"public.customers.ssn\":1}", result.RootElement.GetProperty("masked").GetRawText());
        Assert.Equal(11.25, result.RootElement.GetProperty("durationMs").GetDouble());
        Assert.Equal("SELECT 1", result.RootElement.GetProperty("status").GetString());

        using var end = JsonDocument.Parse(lines[5]);
        Assert.Equal("session.end", end.RootElement.GetProperty("type").GetString());
        Assert.Equal("client disconnected", end.RootElement.GetProperty("reason").GetString());
        Assert.Equal(6, end.RootElement.GetProperty("records").GetInt64());
        Assert.Equal("2026-11-22T10:00:09.123456Z", end.RootElement.GetProperty("ts").GetString());
    }

    [Fact]
    public async Task Optional_fields_are_omitted_and_null_parameters_kept()
    {
        var recorder = _fixture.Factory().Start("s2", new SessionStartEvent("ssh", "bob", [], "[::1]:2222", "bastion", Tls: false));
        Assert.True(recorder.TryRecord(new CommandEvent("INSERT INTO t VALUES ($1, $2)", ["x", null], "insert", RecordedVerdict.Deny,
            "no-writes", null, "denied")));
        Assert.True(recorder.TryRecord(new ResultEvent(0, 0, new Dictionary<string, long>(), TimeSpan.Zero)));
        await recorder.CompleteAsync("done");

        var lines = RecordingFixture.Lines(_fixture.PathOf("s2")).Select(l => Encoding.UTF8.GetString(l)).ToList();
        Assert.DoesNotContain("\"database\"", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("\"user\"", lines[0], StringComparison.Ordinal);
        Assert.Contains("\"groups\":[]", lines[0], StringComparison.Ordinal);
        Assert.Contains("\"parameters\":[\"x\",null]", lines[1], StringComparison.Ordinal);
        Assert.Contains("\"verdict\":\"deny\",\"rule\":\"no-writes\",\"approver\":null,\"outcome\":\"denied\"", lines[1], StringComparison.Ordinal);
        Assert.Contains("\"masked\":{},\"durationMs\":0,\"prev\"", lines[2], StringComparison.Ordinal);
        Assert.True(RecordingFixture.Verify(_fixture.PathOf("s2")).IsValid);
    }

    [Fact]
    public async Task Concurrent_sessions_write_separate_files()
    {
        var factory = _fixture.Factory();
        var ids = Enumerable.Range(0, 16).Select(i => $"session-{i}").ToList();

        await Parallel.ForEachAsync(ids, async (id, _) =>
        {
            var recorder = factory.Start(id, RecordingFixture.StartEvent);
            for (var i = 0; i < 200; i++)
            {
                // The default queue is never full here: every event must be accepted.
                Assert.True(recorder.TryRecord(new CommandEvent($"SELECT {i} -- {id}", null, "select", RecordedVerdict.Allow, null, null, "allowed")));
            }
            await recorder.CompleteAsync("client disconnected");
        });

        foreach (var id in ids)
        {
            var result = RecordingFixture.Verify(_fixture.PathOf(id));
            Assert.True(result.IsValid, result.Detail);
            Assert.Equal(202, result.Records);
            Assert.All(RecordingFixture.Lines(_fixture.PathOf(id)),
                line => Assert.Contains($"\"session\":\"{id}\"", Encoding.UTF8.GetString(line), StringComparison.Ordinal));
        }
        Assert.Equal(ids.Count, Directory.GetFiles(_fixture.RecordingsDirectory).Length);
    }

    [Fact]
    public async Task Concurrent_callers_on_one_session_all_get_recorded()
    {
        var recorder = _fixture.Factory().Start("busy", RecordingFixture.StartEvent);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 200; i++)
            {
                Assert.True(recorder.TryRecord(new ErrorEvent($"{t}", $"{i}")));
            }
        })));
        await recorder.CompleteAsync("done");

        var result = RecordingFixture.Verify(_fixture.PathOf("busy"));
        Assert.True(result.IsValid, result.Detail);
        Assert.Equal(802, result.Records);
    }

    [Fact]
    public async Task Completion_is_idempotent_and_later_events_are_refused()
    {
        var recorder = _fixture.Factory().Start("s3", RecordingFixture.StartEvent);
        await recorder.CompleteAsync("first");
        await recorder.CompleteAsync("second");
        await recorder.DisposeAsync();

        Assert.False(recorder.TryRecord(new ErrorEvent("x", "y")));
        Assert.True(recorder.IsHealthy);
        var lines = RecordingFixture.Lines(_fixture.PathOf("s3"));
        Assert.Equal(2, lines.Count);
        Assert.Contains("\"reason\":\"first\",\"records\":2", Encoding.UTF8.GetString(lines[1]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dispose_without_completion_ends_the_recording()
    {
        await using (var recorder = _fixture.Factory().Start("s4", RecordingFixture.StartEvent))
        {
            Assert.True(recorder.TryRecord(new ErrorEvent("x", "y")));
        }

        var result = RecordingFixture.Verify(_fixture.PathOf("s4"));
        Assert.True(result.IsValid, result.Detail);
        Assert.Contains("\"reason\":\"recorder disposed\"", File.ReadAllText(_fixture.PathOf("s4")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData("a.b")]
    [InlineData("-starts-with-dash")]
    [InlineData("_underscore")]
    [InlineData("tab\there")]
    [InlineData("é")]
    public void Unsafe_session_ids_are_refused(string sessionId) =>
        Assert.Throws<ArgumentException>(() => _fixture.Factory().Start(sessionId, RecordingFixture.StartEvent));

    [Fact]
    public void Session_ids_are_at_most_128_characters()
    {
        var factory = _fixture.Factory();
        Assert.Throws<ArgumentException>(() => factory.Start(new string('a', 129), RecordingFixture.StartEvent));
        Assert.True(factory.Start(new string('a', 128), RecordingFixture.StartEvent).IsHealthy);
    }

    [Fact]
    public async Task An_existing_recording_is_never_overwritten()
    {
        var path = await _fixture.RecordSampleAsync("dup");
        var before = File.ReadAllBytes(path);

        var second = _fixture.Factory().Start("dup", RecordingFixture.StartEvent);

        Assert.False(second.IsHealthy);
        Assert.False(second.TryRecord(new ErrorEvent("x", "y")));
        await second.CompleteAsync("done");
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Contains(_fixture.Logger.Entries, e => e.Id.Id == 2401);
    }

    [Fact]
    public async Task A_directory_that_cannot_be_created_gives_an_unhealthy_recorder()
    {
        var factory = _fixture.Factory();
        // Replaced by a regular file after startup: root can write anywhere, but not below a file.
        Directory.Delete(_fixture.RecordingsDirectory);
        await File.WriteAllTextAsync(_fixture.RecordingsDirectory, "not a directory");

        var recorder = factory.Start("s5", RecordingFixture.StartEvent);

        Assert.False(recorder.IsHealthy);
        Assert.False(recorder.TryRecord(new ErrorEvent("x", "y")));
        await recorder.CompleteAsync("done");
        var entry = Assert.Single(_fixture.Logger.Entries);
        Assert.Equal(2401, entry.Id.Id);
    }

    [Fact]
    public async Task A_moved_directory_is_created_again_for_new_sessions()
    {
        var factory = _fixture.Factory();
        Directory.Move(_fixture.RecordingsDirectory, _fixture.RecordingsDirectory + "-archived");

        var recorder = factory.Start("s6", RecordingFixture.StartEvent);
        await recorder.CompleteAsync("done");

        Assert.True(recorder.IsHealthy);
        Assert.True(RecordingFixture.Verify(_fixture.PathOf("s6")).IsValid);
    }

    [Fact]
    public async Task A_stalled_writer_never_blocks_the_caller()
    {
        StallingStream? stream = null;
        var factory = _fixture.Factory(path => stream = new StallingStream(path), queueCapacity: 4);
        var recorder = factory.Start("stall", RecordingFixture.StartEvent);
        await stream!.Stalled.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // The writer holds session.start in its blocked write; the queue takes 4 more, then refuses at once.
        var watch = Stopwatch.StartNew();
        var accepted = Enumerable.Range(0, 10).Select(i => recorder.TryRecord(new ErrorEvent("e", $"{i}"))).ToList();
        watch.Stop();

        Assert.Equal([true, true, true, true, false, false, false, false, false, false], accepted);
        Assert.False(recorder.IsHealthy);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"TryRecord took {watch.Elapsed}");
        Assert.Equal(0, stream.Writes);
        Assert.Single(_fixture.Logger.Entries, e => e.Id.Id == 2402);

        // Caught up: later events are accepted again, and the gap is written where it happened.
        stream.Release();
        await RecordingFixture.EventuallyAsync(() => stream.Writes >= 2);
        Assert.True(recorder.TryRecord(new ErrorEvent("e", "after")));
        Assert.False(recorder.IsHealthy);
        await recorder.CompleteAsync("done");

        var result = RecordingFixture.Verify(_fixture.PathOf("stall"));
        Assert.True(result.IsValid, result.Detail);
        Assert.Equal(6, result.LostRecords);
        var types = RecordingFixture.Lines(_fixture.PathOf("stall")).Select(TypeOf).ToList();
        Assert.Equal(["session.start", "error", "error", "error", "error", "records.lost", "error", "session.end"], types);
    }

    [Fact]
    public async Task Events_refused_at_the_end_are_counted_before_session_end()
    {
        StallingStream? stream = null;
        var recorder = _fixture.Factory(path => stream = new StallingStream(path), queueCapacity: 1).Start("late", RecordingFixture.StartEvent);
        await stream!.Stalled.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(recorder.TryRecord(new ErrorEvent("e", "1")));
        Assert.False(recorder.TryRecord(new ErrorEvent("e", "2")));
        Assert.False(recorder.TryRecord(new ErrorEvent("e", "3")));

        var completion = recorder.CompleteAsync("done").AsTask();
        Assert.False(completion.IsCompleted);
        stream.Release();
        await completion.WaitAsync(TimeSpan.FromSeconds(10));

        var lines = RecordingFixture.Lines(_fixture.PathOf("late"));
        Assert.Equal(["session.start", "error", "records.lost", "session.end"], lines.Select(TypeOf).ToList());
        Assert.Contains("\"count\":2", Encoding.UTF8.GetString(lines[2]), StringComparison.Ordinal);
        var result = RecordingFixture.Verify(_fixture.PathOf("late"));
        Assert.True(result.IsValid, result.Detail);
        Assert.Equal(2, result.LostRecords);
    }

    [Fact]
    public async Task Completion_can_stop_waiting_for_a_stalled_writer()
    {
        StallingStream? stream = null;
        var recorder = _fixture.Factory(path => stream = new StallingStream(path)).Start("wait", RecordingFixture.StartEvent);
        await stream!.Stalled.Task.WaitAsync(TimeSpan.FromSeconds(10));
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => recorder.CompleteAsync("done", cancellation.Token).AsTask());

        stream.Release();
        await recorder.CompleteAsync("done");
        Assert.True(RecordingFixture.Verify(_fixture.PathOf("wait")).IsValid);
    }

    [Fact]
    public async Task A_full_disk_makes_the_recorder_unhealthy_without_throwing()
    {
        DiskFullStream? stream = null;
        // Room for session.start only; the next batch is cut short mid-line.
        var recorder = _fixture.Factory(path => stream = new DiskFullStream(path, limit: 400)).Start("full", RecordingFixture.StartEvent);
        await RecordingFixture.EventuallyAsync(() => File.Exists(_fixture.PathOf("full")) && new FileInfo(_fixture.PathOf("full")).Length > 0);
        const string secretText = "SELECT 'payload-that-must-not-be-logged'";
        recorder.TryRecord(new CommandEvent(secretText, null, "select", RecordedVerdict.Allow, null, null, "allowed"));
        recorder.TryRecord(new CommandEvent(secretText, null, "select", RecordedVerdict.Allow, null, null, "allowed"));

        await RecordingFixture.EventuallyAsync(() => !recorder.IsHealthy);
        Assert.False(recorder.TryRecord(new ErrorEvent("x", "y")));
        await recorder.CompleteAsync("done");

        Assert.Equal(1, stream!.Failures);
        var entry = Assert.Single(_fixture.Logger.Entries);
        Assert.Equal(2403, entry.Id.Id);
        Assert.IsType<IOException>(entry.Exception);
        Assert.DoesNotContain("payload-that-must-not-be-logged", _fixture.Logger.AllText(), StringComparison.Ordinal);

        // session.start fits; a command line is cut short, whichever batch it went in.
        var result = RecordingFixture.Verify(_fixture.PathOf("full"));
        Assert.Equal(RecordingDefect.Truncated, result.Defect);
        Assert.InRange(result.BadRecord, 2, 3);
        Assert.NotEqual((byte)'\n', File.ReadAllBytes(_fixture.PathOf("full"))[^1]);
    }

    [Fact]
    public async Task A_failure_in_the_last_batch_leaves_no_session_end()
    {
        DiskFullStream? stream = null;
        var recorder = _fixture.Factory(path => stream = new DiskFullStream(path, limit: 400)).Start("end", RecordingFixture.StartEvent);
        await recorder.CompleteAsync("done");

        Assert.False(recorder.IsHealthy);
        Assert.Equal(1, stream!.Failures);
        var result = RecordingFixture.Verify(_fixture.PathOf("end"));
        Assert.Equal(RecordingDefect.Truncated, result.Defect);
        Assert.NotEqual((byte)'\n', File.ReadAllBytes(_fixture.PathOf("end"))[^1]);
    }

    [Fact]
    public async Task Writing_to_dev_full_fails_cleanly()
    {
        if (!File.Exists("/dev/full"))
        {
            return;
        }
        var recorder = _fixture.Factory(_ => new FileStream("/dev/full", FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 0, FileOptions.Asynchronous))
            .Start("devfull", RecordingFixture.StartEvent);

        await RecordingFixture.EventuallyAsync(() => !recorder.IsHealthy);
        Assert.False(recorder.TryRecord(new ErrorEvent("x", "y")));
        await recorder.CompleteAsync("done");
        Assert.Single(_fixture.Logger.Entries, e => e.Id.Id == 2403);
    }

    [Fact]
    public async Task A_removed_directory_is_a_write_failure()
    {
        var recorder = _fixture.Factory().Start("gone", RecordingFixture.StartEvent);
        await RecordingFixture.EventuallyAsync(() => new FileInfo(_fixture.PathOf("gone")).Length > 0);
        Directory.Delete(_fixture.RecordingsDirectory, recursive: true);

        recorder.TryRecord(new ErrorEvent("x", "y"));

        await RecordingFixture.EventuallyAsync(() => !recorder.IsHealthy);
        await recorder.CompleteAsync("done");
        Assert.Single(_fixture.Logger.Entries, e => e.Id.Id == 2403);
    }

    [Fact]
    public async Task A_throwing_event_fails_the_recorder_not_the_caller()
    {
        var recorder = _fixture.Factory().Start("throws", RecordingFixture.StartEvent);

        // Signed on the caller's thread: the event is refused and the recording fails, the caller sees no exception.
        Assert.False(recorder.TryRecord(new ThrowingEvent()));
        Assert.False(recorder.IsHealthy);
        Assert.False(recorder.TryRecord(new ErrorEvent("x", "y")));
        await recorder.CompleteAsync("done");
        Assert.Equal(RecordingDefect.Truncated, RecordingFixture.Verify(_fixture.PathOf("throws")).Defect);
    }

    [Fact]
    public async Task An_oversized_event_is_replaced_by_a_marker()
    {
        var recorder = _fixture.Factory().Start("big", RecordingFixture.StartEvent);
        Assert.True(recorder.TryRecord(new ErrorEvent("x", new string('a', 16 * 1024 * 1024))));
        Assert.True(recorder.TryRecord(new ErrorEvent("x", "small")));
        await recorder.CompleteAsync("done");

        var lines = RecordingFixture.Lines(_fixture.PathOf("big"));
        Assert.Equal(["session.start", "record.oversized", "error", "session.end"], lines.Select(TypeOf).ToList());
        Assert.Contains("\"originalType\":\"error\"", Encoding.UTF8.GetString(lines[1]), StringComparison.Ordinal);
        Assert.True(RecordingFixture.Verify(_fixture.PathOf("big")).IsValid);
    }

    [Fact]
    public void Options_are_validated()
    {
        var clock = TimeProvider.System;
        var logs = Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance;
        Assert.Throws<ArgumentException>(() =>
            new FileSessionRecorderFactory(new RecordingOptions { Directory = _fixture.RecordingsDirectory, Key = new byte[31] }, clock, logs));
        Assert.Throws<ArgumentException>(() =>
            new FileSessionRecorderFactory(new RecordingOptions { Directory = "relative", Key = RecordingFixture.Key }, clock, logs));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FileSessionRecorderFactory(
            new RecordingOptions { Directory = _fixture.RecordingsDirectory, Key = RecordingFixture.Key, QueueCapacity = 0 }, clock, logs));
        var factory = new FileSessionRecorderFactory(
            new RecordingOptions { Directory = _fixture.RecordingsDirectory, Key = RecordingFixture.Key, OnFailure = RecordingFailureMode.Allow }, clock, logs);
        Assert.Equal(RecordingFailureMode.Allow, factory.OnFailure);
        Assert.True(Directory.Exists(_fixture.RecordingsDirectory));
    }

    private static string TypeOf(byte[] line)
    {
        using var document = JsonDocument.Parse(line);
        return document.RootElement.GetProperty("type").GetString()!;
    }

    private sealed record ThrowingEvent : RecordEvent
    {
        public override string Type => "test.throws";

        protected internal override void WriteFields(Utf8JsonWriter writer) => throw new InvalidOperationException("serializer bug");
    }
}
