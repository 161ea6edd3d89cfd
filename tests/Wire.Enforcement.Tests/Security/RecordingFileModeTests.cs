using Wire.Enforcement.Tests.Recording;

namespace Wire.Enforcement.Tests.Security;

/// <summary>
/// Security checklist (docs/security.md): a recording and its attachments are readable and writable only by the account
/// that runs Wire (mode 0600, docs/recording.md), whatever the process umask lets through.
/// </summary>
public sealed class RecordingFileModeTests : IDisposable
{
    private readonly RecordingFixture _fixture = new();

    public void Dispose() => _fixture.Dispose();

    [Fact]
    public async Task Recordings_and_attachments_are_created_with_mode_0600()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // no Unix file modes
        }
        var recorder = _fixture.Factory().Start("mode-check", RecordingFixture.StartEvent);
        var attachment = recorder.CreateAttachment("c0.cast");
        Assert.NotNull(attachment);
        Assert.True(attachment.Write("{}\n"u8));
        await recorder.CompleteAsync("client disconnected");

        string recording = _fixture.PathOf("mode-check");
        foreach (string file in new[] { recording, Path.ChangeExtension(recording, null) + ".c0.cast" })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }
        Assert.True(RecordingFixture.Verify(recording).IsValid);
    }
}
