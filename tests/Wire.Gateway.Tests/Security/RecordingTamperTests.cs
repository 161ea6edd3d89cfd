using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Wire.Enforcement.Recording;
using Wire.Gateway.Tests.Recording;

namespace Wire.Gateway.Tests.Security;

/// <summary>
/// Security checklist (docs/security.md): recordings are tamper-evident, end to end through <c>wire verify</c> with the
/// key from the config. A recording made by the real recorder, with an attachment (as an SSH terminal's asciicast), is
/// changed the ways someone without the key could change it, and each change is reported (exit 1, the defect and the
/// record); the untouched copy verifies. The byte-level cases (every byte of every line, every removal and swap) are
/// in Wire.Enforcement.Tests' RecordingVerifierTests.
/// </summary>
public sealed class RecordingTamperTests : IDisposable
{
    private readonly RecordingCommandFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    public static TheoryData<string, string> Tampering => new()
    {
        { "edit a command's text", "record 2: edited" },
        { "edit and re-chain every later prev", "record 2: edited" },
        { "remove a record", "record 2: removed" },
        { "swap two records", "record 2: reordered" },
        { "drop session.end", "record 5: truncated" },
        { "cut the last line short", "record 5: truncated" },
        { "append a record after session.end", "record 6: appended" },
        { "sign with another key", "record 1: wrong key" },
        { "edit the attachment", "record 5: edited" },
        { "remove the attachment", "record 5: edited" },
        { "replace the attachment with another session's", "record 5: edited" },
        { "replace the attachment and its hash in session.end", "record 5: edited" },
    };

    [Theory]
    [MemberData(nameof(Tampering))]
    public async Task Wire_verify_reports_each_kind_of_tampering(string tampering, string defect)
    {
        string path = await RecordWithAttachmentAsync("s1", "echo one\r\n");
        string other = await RecordWithAttachmentAsync("s2", "echo two\r\n");
        string attachment = path[..^".jsonl".Length] + ".c0.cast";
        Assert.Equal((0, $"OK {path} (5 records)\n"), await VerifyAsync(path));

        var lines = File.ReadAllLines(path).ToList();
        switch (tampering)
        {
            case "edit a command's text":
                lines[1] = lines[1].Replace("rm -rf /tmp/x", "ls -la /tmp/x", StringComparison.Ordinal);
                break;
            case "edit and re-chain every later prev":
                lines[1] = lines[1].Replace("rm -rf /tmp/x", "ls -la /tmp/x", StringComparison.Ordinal);
                for (int i = 2; i < lines.Count; i++)
                {
                    string prev = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(lines[i - 1])));
                    int at = lines[i].IndexOf("\"prev\":\"", StringComparison.Ordinal) + 8;
                    lines[i] = lines[i][..at] + prev + lines[i][(at + 64)..];
                }
                break;
            case "remove a record":
                lines.RemoveAt(1);
                break;
            case "swap two records":
                (lines[1], lines[2]) = (lines[2], lines[1]);
                break;
            case "drop session.end":
                lines.RemoveAt(lines.Count - 1);
                break;
            case "cut the last line short":
                await File.WriteAllTextAsync(path, string.Join('\n', lines)[..^10]);
                lines = null;
                break;
            case "append a record after session.end":
                lines.Add(File.ReadAllLines(other)[1]);
                break;
            case "sign with another key":
                File.Copy(await RecordWithAttachmentAsync("s3", "echo one\r\n", "a-completely-different-key-of-40-bytes!!"), path, overwrite: true);
                lines = null;
                break;
            case "edit the attachment":
                await File.WriteAllTextAsync(attachment, (await File.ReadAllTextAsync(attachment)).Replace("one", "two", StringComparison.Ordinal));
                break;
            case "remove the attachment":
                File.Delete(attachment);
                break;
            case "replace the attachment with another session's":
                File.Copy(other[..^".jsonl".Length] + ".c0.cast", attachment, overwrite: true);
                break;
            case "replace the attachment and its hash in session.end":
                File.Copy(other[..^".jsonl".Length] + ".c0.cast", attachment, overwrite: true);
                string newHash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(attachment)));
                string ownHash = lines[^1][(lines[^1].IndexOf("\"c0.cast\":\"", StringComparison.Ordinal) + 11)..][..64];
                Assert.NotEqual(ownHash, newHash);
                lines[^1] = lines[^1].Replace(ownHash, newHash, StringComparison.Ordinal);
                break;
        }
        if (lines is not null)
        {
            await File.WriteAllTextAsync(path, string.Join('\n', lines) + "\n");
        }

        var (exitCode, output) = await VerifyAsync(path);
        Assert.Equal(1, exitCode);
        Assert.StartsWith($"BAD {path}: {defect}", output, StringComparison.Ordinal);
    }

    private async Task<(int ExitCode, string Output)> VerifyAsync(string path)
    {
        var (exitCode, output, error) = await RecordingCommandFixture.RunAsync("verify", path, "--config", _fixture.ConfigPath);
        Assert.Empty(error);
        return (exitCode, output);
    }

    /// <summary>A five-record session (start, command, result, error, end) with one attachment, signed with the fixture's key or <paramref name="key"/>.</summary>
    private async Task<string> RecordWithAttachmentAsync(string sessionId, string terminal, string key = RecordingCommandFixture.Key)
    {
        string directory = key == RecordingCommandFixture.Key ? _fixture.RecordingsDirectory : Path.Combine(_fixture.Root, "other-key");
        var factory = new FileSessionRecorderFactory(
            new RecordingOptions { Directory = directory, Key = Encoding.UTF8.GetBytes(key) }, TimeProvider.System, NullLoggerFactory.Instance);
        var recorder = factory.Start(sessionId, new SessionStartEvent("ssh", "alice", ["eng"], "127.0.0.1:5000", "app", Tls: false));
        Assert.True(recorder.TryRecord(new CommandEvent("rm -rf /tmp/x", null, "exec", RecordedVerdict.Allow, null, null, "allowed")));
        Assert.True(recorder.TryRecord(new ResultEvent(0, 12, new Dictionary<string, long>(), TimeSpan.FromMilliseconds(3)) { Status = "exit 0" }));
        Assert.True(recorder.TryRecord(new ErrorEvent("126", "wire: denied by rule x")));
        var cast = recorder.CreateAttachment("c0.cast");
        Assert.NotNull(cast);
        Assert.True(cast.Write(Encoding.UTF8.GetBytes("{\"version\":2,\"width\":80,\"height\":24}\n[0.1,\"o\",\"" + terminal.Replace("\r\n", "\\r\\n", StringComparison.Ordinal) + "\"]\n")));
        await recorder.CompleteAsync("client disconnected");
        return Path.Combine(directory, sessionId + ".jsonl");
    }
}
