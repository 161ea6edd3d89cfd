using System.Globalization;
using System.Text;
using System.Text.Json;
using Wire.Enforcement.Recording;

namespace Wire.Enforcement.Tests.Recording;

public sealed class RecordingReplayTests : IDisposable
{
    private readonly RecordingFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task A_session_reads_as_a_transcript()
    {
        var path = await _fixture.RecordSampleAsync();
        using var output = new StringWriter { NewLine = "\n" };

        var records = RecordingReplay.Write(path, output);

        Assert.Equal(6, records);
        Assert.Equal(
            """
            session s1, recorded from 2026-11-22T10:00:00.123456Z
            +00:00:00.000 session.start   alice [eng, ops] from 10.0.0.5:51234 to app (postgres, tls), database app, user alice
            +00:00:00.120 command         select allow by default, allowed: SELECT * FROM customers WHERE id = $1 parameters ["5"]
            +00:00:00.131 result          SELECT 1: 1 rows, 210 bytes, 11.25 ms, masked public.customers.ssn 1
            +00:00:02.500 command         delete review by rule prod-writes, approved by bob: DELETE FROM orders WHERE id = 7
            +00:00:03.000 error           42501: permission denied for table orders
            +00:00:09.000 session.end     client disconnected, 6 records

            """, output.ToString());
    }

    [Fact]
    public async Task Unicode_and_control_characters_round_trip_without_reaching_the_terminal()
    {
        const string text = "SELECT 'héllo 日本 😀 ﷽' -- \u001b[31mred\u001b[0m\n\ttab\r \\ \\n \" \0 \u2028 \u2029 \u202eevil\u202c \u0085 \u007f \u200b \U000E0041";
        string?[] parameters = ["a\"b\\", "\u0007bell", null, ""];
        var recorder = _fixture.Factory().Start("unicode", RecordingFixture.StartEvent with { Subject = "zoë\u001b]0;title\u0007" });
        Assert.True(recorder.TryRecord(new CommandEvent(text, parameters, "select", RecordedVerdict.Allow, null, null, "allowed")));
        await recorder.CompleteAsync("done");
        Assert.True(RecordingFixture.Verify(_fixture.PathOf("unicode")).IsValid);
        using var output = new StringWriter { NewLine = "\n" };

        RecordingReplay.Write(_fixture.PathOf("unicode"), output);

        var transcript = output.ToString();
        foreach (var rune in transcript.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            Assert.True(rune.Value == '\n' || category is not (UnicodeCategory.Control or UnicodeCategory.Format
                or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator), $"U+{rune.Value:X4} reached the transcript");
        }
        var lines = transcript.Split('\n');
        Assert.Equal(5, lines.Length);
        Assert.Contains(" zoë\\u{1b}]0;title\\u{7} [eng, ops]", lines[1], StringComparison.Ordinal);

        var command = lines[2];
        const string head = "select allow by default, allowed: ";
        const string tail = " parameters [";
        var textStart = command.IndexOf(head, StringComparison.Ordinal) + head.Length;
        var textEnd = command.LastIndexOf(tail, StringComparison.Ordinal);
        Assert.Equal(text, Unescape(command[textStart..textEnd]));
        Assert.Equal(
            "\"a\\\"b\\\\\", \"\\u{7}bell\", null, \"\"]",
            command[(textEnd + tail.Length)..]);
    }

    [Fact]
    public async Task Unknown_types_show_their_fields()
    {
        var recorder = _fixture.Factory().Start("ssh", RecordingFixture.StartEvent with { Protocol = "ssh" });
        Assert.True(recorder.TryRecord(new SshExecEvent("ls -la\u202e", 0)));
        await recorder.CompleteAsync("done");
        Assert.True(RecordingFixture.Verify(_fixture.PathOf("ssh")).IsValid);
        using var output = new StringWriter { NewLine = "\n" };

        RecordingReplay.Write(_fixture.PathOf("ssh"), output);

        Assert.Contains("+00:00:00.000 ssh.exec        {\"command\":\"ls -la\\u{202e}\",\"exitStatus\":0}\n", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Damaged_lines_are_reported_not_thrown()
    {
        var lines = RecordingFixture.Lines(await _fixture.RecordSampleAsync());
        var bytes = (byte[])[.. lines[0], (byte)'\n', .. "not json\n"u8, .. "{\"type\":\"command\",\"text\":42}\n"u8, .. lines[1][..40]];
        using var output = new StringWriter { NewLine = "\n" };

        var records = RecordingReplay.Write(_fixture.WriteBytes(bytes), output);

        Assert.Equal(2, records);
        var transcript = output.ToString().Split('\n');
        Assert.StartsWith("+00:00:00.000 session.start ", transcript[1], StringComparison.Ordinal);
        Assert.Equal("line 2: not a record", transcript[2]);
        Assert.StartsWith("+?            command         ", transcript[3], StringComparison.Ordinal);
        Assert.Equal("line 4: incomplete (the recording was cut off or is still being written)", transcript[4]);
    }

    [Fact]
    public void A_crafted_unverified_file_cannot_reach_the_terminal_either()
    {
        // Replay runs on files nobody verified: every field it prints is escaped, not only the usual text fields.
        const string evil = @"\u001b]0;x\u0007\u202e";
        var lines = new[]
        {
            $"{{\"v\":1,\"seq\":1,\"ts\":\"2026-11-22T10:00:00.000000Z\",\"session\":\"{evil}\",\"type\":\"session.start\",\"protocol\":\"{evil}\",\"groups\":[\"{evil}\",1]}}",
            $"{{\"ts\":\"2026-11-22T10:00:01.000000Z{evil}\",\"type\":\"result{evil}\",\"rows\":1}}",
            $"{{\"ts\":\"2026-11-22T10:00:01.000000Z\",\"type\":\"result\",\"rows\":\"{evil}\",\"masked\":{{\"{evil}\":\"{evil}\",\"raw\":\"\u202e\"}},\"status\":\"{evil}\"}}",
            $"{{\"ts\":\"2026-11-22T10:00:01.000000Z\",\"type\":\"{evil}\",\"{evil}\":[\"{evil}\"]}}",
        };
        using var output = new StringWriter { NewLine = "\n" };

        RecordingReplay.Write(_fixture.WriteBytes(Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n")), output);

        var transcript = output.ToString();
        Assert.DoesNotContain('\u001b', transcript);
        Assert.DoesNotContain('\u0007', transcript);
        Assert.DoesNotContain('\u202e', transcript);
        Assert.DoesNotContain("not a record", transcript, StringComparison.Ordinal);
        Assert.Equal(6, transcript.Split('\n').Length);
    }

    /// <summary>Reverses the transcript's escaping: \\, \n, \r, \t, \" and \u{hex}.</summary>
    private static string Unescape(string text)
    {
        var builder = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != '\\')
            {
                builder.Append(text[i]);
                continue;
            }
            var next = text[++i];
            switch (next)
            {
                case 'n':
                    builder.Append('\n');
                    break;
                case 'r':
                    builder.Append('\r');
                    break;
                case 't':
                    builder.Append('\t');
                    break;
                case 'u':
                    var close = text.IndexOf('}', i);
                    builder.Append(char.ConvertFromUtf32(int.Parse(text.AsSpan(i + 2, close - i - 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
                    i = close;
                    break;
                default:
                    builder.Append(next);
                    break;
            }
        }
        return builder.ToString();
    }

    private sealed record SshExecEvent(string Command, int ExitStatus) : RecordEvent
    {
        public override string Type => "ssh.exec";

        protected internal override void WriteFields(Utf8JsonWriter writer)
        {
            writer.WriteString("command", Command);
            writer.WriteNumber("exitStatus", ExitStatus);
        }
    }
}
