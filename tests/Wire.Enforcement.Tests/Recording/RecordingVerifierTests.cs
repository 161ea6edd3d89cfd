using System.Text;
using Wire.Enforcement.Recording;

namespace Wire.Enforcement.Tests.Recording;

public sealed class RecordingVerifierTests : IDisposable
{
    private const string ZeroHash = "0000000000000000000000000000000000000000000000000000000000000000";

    private readonly RecordingFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task Editing_any_byte_of_any_line_is_found_at_that_line()
    {
        var lines = RecordingFixture.Lines(await _fixture.RecordSampleAsync());

        for (var line = 0; line < lines.Count; line++)
        {
            for (var at = 0; at < lines[line].Length; at++)
            {
                var copy = lines.Select(l => (byte[])l.Clone()).ToList();
                copy[line][at] ^= 0x01;

                var result = RecordingFixture.Verify(_fixture.WriteCopy(copy));

                Assert.True(result.Defect == RecordingDefect.Edited && result.BadRecord == line + 1,
                    $"byte {at} of line {line + 1}: {result.BadRecord} {result.Defect} ({result.Detail})");
            }
        }
    }

    [Fact]
    public async Task Changing_the_case_of_a_hex_digit_is_an_edit()
    {
        var lines = RecordingFixture.Lines(await _fixture.RecordSampleAsync());
        var text = Encoding.UTF8.GetString(lines[2]);
        var at = text.LastIndexOfAny("abcdef".ToCharArray());
        lines[2] = Encoding.UTF8.GetBytes(text[..at] + char.ToUpperInvariant(text[at]) + text[(at + 1)..]);

        AssertBad(_fixture.WriteCopy(lines), 3, RecordingDefect.Edited);
    }

    [Fact]
    public async Task Joining_two_lines_is_an_edit()
    {
        var bytes = await File.ReadAllBytesAsync(await _fixture.RecordSampleAsync());
        var firstNewline = Array.IndexOf(bytes, (byte)'\n');
        bytes[firstNewline] = (byte)' ';

        AssertBad(_fixture.WriteBytes(bytes), 1, RecordingDefect.Edited);
    }

    [Theory]
    [InlineData(1, RecordingDefect.Removed)]
    [InlineData(2, RecordingDefect.Removed)]
    [InlineData(3, RecordingDefect.Removed)]
    [InlineData(5, RecordingDefect.Removed)]
    [InlineData(6, RecordingDefect.Truncated)]
    public async Task Removing_a_line_is_found_where_it_was(int removed, RecordingDefect defect)
    {
        var lines = RecordingFixture.Lines(await _fixture.RecordSampleAsync());
        lines.RemoveAt(removed - 1);

        AssertBad(_fixture.WriteCopy(lines), removed, defect);
    }

    [Fact]
    public async Task Removing_two_lines_in_a_row_is_found()
    {
        var lines = RecordingFixture.Lines(await _fixture.RecordSampleAsync());
        lines.RemoveRange(1, 2);

        AssertBad(_fixture.WriteCopy(lines), 2, RecordingDefect.Removed);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task Swapping_two_lines_is_a_reorder(int first)
    {
        var lines = RecordingFixture.Lines(await _fixture.RecordSampleAsync());
        (lines[first - 1], lines[first]) = (lines[first], lines[first - 1]);

        AssertBad(_fixture.WriteCopy(lines), first, RecordingDefect.Reordered);
    }

    [Fact]
    public async Task Moving_a_line_further_down_is_a_reorder()
    {
        var lines = RecordingFixture.Lines(await _fixture.RecordSampleAsync());
        var moved = lines[1];
        lines.RemoveAt(1);
        lines.Insert(4, moved);

        AssertBad(_fixture.WriteCopy(lines), 2, RecordingDefect.Reordered);
    }

    [Fact]
    public async Task Duplicating_a_line_is_a_reorder()
    {
        var lines = RecordingFixture.Lines(await _fixture.RecordSampleAsync());
        lines.Insert(3, lines[2]);

        AssertBad(_fixture.WriteCopy(lines), 4, RecordingDefect.Reordered);
    }

    [Fact]
    public async Task Dropping_the_last_line_is_truncation()
    {
        var lines = RecordingFixture.Lines(await _fixture.RecordSampleAsync());

        for (var keep = 1; keep < lines.Count; keep++)
        {
            var result = RecordingFixture.Verify(_fixture.WriteCopy(lines.Take(keep)));
            Assert.Equal((RecordingDefect.Truncated, keep + 1, keep), (result.Defect, (int)result.BadRecord, (int)result.Records));
        }
    }

    [Fact]
    public async Task Cutting_the_file_mid_line_is_truncation_at_that_line()
    {
        var path = await _fixture.RecordSampleAsync();
        var bytes = await File.ReadAllBytesAsync(path);
        var lineStarts = new List<int> { 0 };
        for (var i = 0; i < bytes.Length - 1; i++)
        {
            if (bytes[i] == (byte)'\n')
            {
                lineStarts.Add(i + 1);
            }
        }

        for (var length = 1; length < bytes.Length; length++)
        {
            var result = RecordingFixture.Verify(_fixture.WriteBytes(bytes[..length]));
            var line = lineStarts.Count(start => start < length);
            var atBoundary = bytes[length - 1] == (byte)'\n';
            // Cut after a whole line: the next record is missing. Cut inside a line: that line is incomplete.
            var expected = atBoundary ? line + 1 : line;
            Assert.True(result.Defect == RecordingDefect.Truncated && result.BadRecord == expected,
                $"cut at {length}: {result.BadRecord} {result.Defect} ({result.Detail}), expected {expected}");
        }
    }

    [Fact]
    public async Task Appending_any_line_after_session_end_is_found()
    {
        var lines = RecordingFixture.Lines(await _fixture.RecordSampleAsync());
        var other = RecordingFixture.Lines(await _fixture.RecordSampleAsync("other"));
        byte[][] extras = [lines[1], lines[^1], other[^1], "garbage"u8.ToArray(), []];

        foreach (var extra in extras)
        {
            AssertBad(_fixture.WriteCopy([.. lines, extra]), 7, RecordingDefect.Appended);
        }
    }

    [Fact]
    public async Task Another_key_is_reported_as_wrong_key()
    {
        var path = await _fixture.RecordSampleAsync();

        AssertBad(path, 1, RecordingDefect.WrongKey, RecordingFixture.OtherKey);
    }

    [Fact]
    public async Task Wrong_key_is_told_apart_from_an_edited_first_line()
    {
        var lines = RecordingFixture.Lines(await _fixture.RecordSampleAsync());
        lines[0][20] ^= 0x01;

        // Later lines verify under the right key, so line 1 was edited; under another key nothing verifies.
        AssertBad(_fixture.WriteCopy(lines), 1, RecordingDefect.Edited);
        AssertBad(_fixture.WriteCopy(lines), 1, RecordingDefect.WrongKey, RecordingFixture.OtherKey);
    }

    [Fact]
    public async Task A_line_from_another_recording_is_an_edit()
    {
        var lines = RecordingFixture.Lines(await _fixture.RecordSampleAsync());
        var other = RecordingFixture.Lines(await _fixture.RecordSampleAsync("other"));
        lines[3] = other[3];

        AssertBad(_fixture.WriteCopy(lines), 4, RecordingDefect.Edited);
    }

    [Fact]
    public void An_empty_file_is_truncated()
    {
        AssertBad(_fixture.WriteBytes([]), 1, RecordingDefect.Truncated);
        AssertBad(_fixture.WriteBytes("\n"u8.ToArray()), 1, RecordingDefect.Edited);
    }

    [Fact]
    public void A_file_of_other_json_lines_is_edited_at_line_1() =>
        AssertBad(_fixture.WriteBytes("{\"hello\":\"world\"}\n"u8.ToArray()), 1, RecordingDefect.Edited);

    // The cases below need a key holder's signature: they show what the checks after the MAC catch.

    [Fact]
    public void A_signed_line_that_is_not_a_record_is_an_edit()
    {
        var first = RecordingFixture.Sign($"{{\"v\":1,\"seq\":1,\"ts\":\"2026-11-22T10:00:00.000000Z\",\"session\":\"s\",\"type\":\"x\",\"prev\":\"{ZeroHash}\"");
        string[] bodies =
        [
            $"{{\"v\":2,\"seq\":2,\"ts\":\"2026-11-22T10:00:00.000000Z\",\"session\":\"s\",\"type\":\"x\",\"prev\":\"{RecordingFixture.Hash(first)}\"",
            $"{{\"v\":1,\"seq\":2,\"ts\":\"yesterday\",\"session\":\"s\",\"type\":\"x\",\"prev\":\"{RecordingFixture.Hash(first)}\"",
            $"{{\"v\":1,\"seq\":2,\"ts\":\"2026-11-22T10:00:00.000000Z\",\"session\":\"s\",\"prev\":\"{RecordingFixture.Hash(first)}\"",
            $"{{\"v\":1,\"seq\":2,\"seq\":2,\"ts\":\"2026-11-22T10:00:00.000000Z\",\"session\":\"s\",\"type\":\"x\",\"prev\":\"{RecordingFixture.Hash(first)}\"",
            $"{{\"v\":1,\"seq\":2,\"ts\":\"2026-11-22T10:00:00.000000Z\",\"session\":\"s\",\"type\":\"x\",\"prev\":\"{RecordingFixture.Hash(first)}\",\"x\":",
            $"[1,2,{{\"v\":1",
        ];
        foreach (var body in bodies)
        {
            AssertBad(_fixture.WriteCopy([first, RecordingFixture.Sign(body)]), 2, RecordingDefect.Edited);
        }
    }

    [Fact]
    public void A_signed_line_with_the_wrong_prev_is_a_reorder()
    {
        var first = RecordingFixture.Sign($"{{\"v\":1,\"seq\":1,\"ts\":\"2026-11-22T10:00:00.000000Z\",\"session\":\"s\",\"type\":\"x\",\"prev\":\"{ZeroHash}\"");
        var second = RecordingFixture.Sign($"{{\"v\":1,\"seq\":2,\"ts\":\"2026-11-22T10:00:00.000000Z\",\"session\":\"s\",\"type\":\"x\",\"prev\":\"{ZeroHash}\"");

        AssertBad(_fixture.WriteCopy([first, second]), 2, RecordingDefect.Reordered);
    }

    [Fact]
    public void A_session_end_with_the_wrong_count_is_truncation()
    {
        var first = RecordingFixture.Sign($"{{\"v\":1,\"seq\":1,\"ts\":\"2026-11-22T10:00:00.000000Z\",\"session\":\"s\",\"type\":\"x\",\"prev\":\"{ZeroHash}\"");
        var end = RecordingFixture.Sign(
            $"{{\"v\":1,\"seq\":2,\"ts\":\"2026-11-22T10:00:00.000000Z\",\"session\":\"s\",\"type\":\"session.end\",\"reason\":\"r\",\"records\":5,\"prev\":\"{RecordingFixture.Hash(first)}\"");

        var result = RecordingFixture.Verify(_fixture.WriteCopy([first, end]));

        Assert.Equal((RecordingDefect.Truncated, 2L, 1L), (result.Defect, result.BadRecord, result.Records));
    }

    [Fact]
    public void Unknown_types_and_fields_verify()
    {
        var first = RecordingFixture.Sign(
            $"{{\"v\":1,\"seq\":1,\"ts\":\"2026-11-22T10:00:00.000000Z\",\"session\":\"s\",\"type\":\"ssh.exec\",\"command\":\"ls\",\"nested\":{{\"a\":[1,{{\"b\":null}}]}},\"records\":\"x\",\"prev\":\"{ZeroHash}\"");
        var end = RecordingFixture.Sign(
            $"{{\"v\":1,\"seq\":2,\"ts\":\"2026-11-22T10:00:01.000000Z\",\"session\":\"s\",\"type\":\"session.end\",\"reason\":\"r\",\"records\":2,\"prev\":\"{RecordingFixture.Hash(first)}\"");

        var result = RecordingFixture.Verify(_fixture.WriteCopy([first, end]));

        Assert.True(result.IsValid, result.Detail);
        Assert.Equal(2, result.Records);
    }

    [Fact]
    public void A_line_longer_than_any_recorder_writes_is_an_edit()
    {
        var bytes = new byte[RecordingFormat.MaxLineBytes + 10];
        bytes.AsSpan().Fill((byte)'a');
        bytes[^1] = (byte)'\n';

        AssertBad(_fixture.WriteBytes(bytes), 1, RecordingDefect.Edited);
    }

    [Fact]
    public async Task A_directory_verifies_every_recording_under_it_in_order()
    {
        await _fixture.RecordSampleAsync("b");
        await _fixture.RecordSampleAsync("a");
        var sub = Directory.CreateDirectory(Path.Combine(_fixture.RecordingsDirectory, "2026-11"));
        var lines = RecordingFixture.Lines(await _fixture.RecordSampleAsync("c"));
        File.Move(_fixture.PathOf("c"), Path.Combine(sub.FullName, "c.jsonl"));
        await File.WriteAllBytesAsync(Path.Combine(sub.FullName, "d.jsonl"), [.. lines.Take(3).SelectMany(l => (byte[])[.. l, (byte)'\n'])]);
        await File.WriteAllTextAsync(Path.Combine(_fixture.RecordingsDirectory, "notes.txt"), "not a recording");

        var results = RecordingVerifier.Verify(_fixture.RecordingsDirectory, RecordingFixture.Key);

        Assert.Equal(["2026-11/c.jsonl", "2026-11/d.jsonl", "a.jsonl", "b.jsonl"],
            results.Select(r => Path.GetRelativePath(_fixture.RecordingsDirectory, r.Path).Replace('\\', '/')).ToList());
        Assert.Equal([true, false, true, true], results.Select(r => r.IsValid).ToList());
        Assert.Equal("truncated", results[1].DefectName);
    }

    [Fact]
    public void A_missing_path_throws()
    {
        Assert.Throws<FileNotFoundException>(() => RecordingVerifier.Verify(Path.Combine(_fixture.Directory, "nope.jsonl"), RecordingFixture.Key));
        Assert.Empty(RecordingVerifier.Verify(_fixture.Directory, RecordingFixture.Key));
    }

    [Theory]
    [InlineData(RecordingDefect.None, "")]
    [InlineData(RecordingDefect.Edited, "edited")]
    [InlineData(RecordingDefect.Removed, "removed")]
    [InlineData(RecordingDefect.Reordered, "reordered")]
    [InlineData(RecordingDefect.Truncated, "truncated")]
    [InlineData(RecordingDefect.Appended, "appended")]
    [InlineData(RecordingDefect.WrongKey, "wrong key")]
    public void Defects_have_their_printed_names(RecordingDefect defect, string name) =>
        Assert.Equal(name, new RecordingVerification("p", 0, 0, 1, defect, null).DefectName);

    private static void AssertBad(string path, long record, RecordingDefect defect, byte[]? key = null)
    {
        var result = RecordingFixture.Verify(path, key);
        Assert.True(result.Defect == defect && result.BadRecord == record,
            $"expected record {record}: {defect}; got record {result.BadRecord}: {result.Defect} ({result.Detail})");
        Assert.Equal(record - 1, result.Records);
    }
}
