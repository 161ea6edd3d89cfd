using Wire.Testing;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Wire.Enforcement;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Recording;
using Wire.Enforcement.Sessions;
using Wire.Ssh.Tests.Infrastructure;

namespace Wire.Ssh.Tests.Proxy;

/// <summary>
/// Live sessions (issue 9): an OpenSSH session through Wire shows in the registry with its counters, and an
/// administrator's termination ends it as DESIGN.md §4 says (SSH_MSG_DISCONNECT by application, with the reason).
/// </summary>
public sealed class SshSessionRegistryTests(SshdFixture sshd) : WireSshTestBase(sshd), IClassFixture<SshdFixture>
{
    private readonly SessionRegistry _registry = new();
    private readonly TempDirectory _directory = new();
    private readonly byte[] _recordingKey = RandomNumberGenerator.GetBytes(32);

    protected override WireEnforcement Enforcement => new()
    {
        Sessions = _registry,
        Recorder = new FileSessionRecorderFactory(new RecordingOptions { Directory = _directory.Path, Key = _recordingKey }, TimeProvider.System,
            NullLoggerFactory.Instance),
    };

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task Registry_lists_the_session_and_terminating_it_disconnects_the_client()
    {
        var ssh = Processes.RunAsync("ssh", SshArguments("alice+app@127.0.0.1", "read line; echo \"got $line\"; sleep 30"), Timeout,
            standardInput: "hello-from-the-client\n");

        // The command has read its input and answered: both byte counters have moved.
        LiveSession? live = null;
        for (int i = 0; i < 200 && !ssh.IsCompleted; i++)
        {
            if (_registry.Active is [var only] && only.BytesToClient > 0)
            {
                live = only;
                break;
            }
            await Task.Delay(50);
        }
        Assert.True(live is not null, ssh.IsCompleted ? (await ssh).ToString() : "no session with output in the registry");
        Assert.StartsWith("ssh-", live.Id, StringComparison.Ordinal);
        Assert.Equal(WireProtocol.Ssh, live.Protocol);
        Assert.Equal("app", live.Target);
        Assert.Equal("alice", live.Identity.Subject);
        Assert.StartsWith("127.0.0.1:", live.Client, StringComparison.Ordinal);
        Assert.True(live.Commands >= 1, "the exec was not counted");
        Assert.True(live.BytesFromClient >= "hello-from-the-client\n".Length, $"bytes from the client: {live.BytesFromClient}");
        Assert.True(live.BytesToClient >= "got hello-from-the-client\n".Length, $"bytes to the client: {live.BytesToClient}");
        Assert.False(ssh.IsCompleted);

        var stopwatch = Stopwatch.StartNew();
        Assert.True(_registry.TryTerminate(live.Id, "incident 5"));
        var result = await ssh.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10));
        Assert.Equal(255, result.ExitCode);
        Assert.Contains("got hello-from-the-client", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("wire: session ended by an administrator: incident 5", result.StandardError, StringComparison.Ordinal);

        Assert.True(await Eventually.WaitAsync(() => _registry.Active.Count == 0), "the session stayed in the registry");
        Assert.False(_registry.TryTerminate(live.Id, "again"));

        // The recording ends with the reason.
        string file = Assert.Single(Directory.GetFiles(_directory.Path, "*.jsonl"));
        Assert.True(await Eventually.WaitAsync(() => File.ReadAllText(file).Contains("session.end", StringComparison.Ordinal)), "the recording did not complete");
        var end = JsonDocument.Parse(File.ReadAllLines(file)[^1]).RootElement;
        Assert.Equal("session ended by an administrator: incident 5", end.GetProperty("reason").GetString());
        Assert.True(RecordingVerifier.VerifyFile(file, _recordingKey).IsValid);
    }

    [Fact]
    public async Task Registry_forgets_sessions_that_end()
    {
        var result = await Processes.RunAsync("ssh", SshArguments("alice+app@127.0.0.1", "echo one"), Timeout);
        Assert.True(result.ExitCode == 0, result.StandardError);
        Assert.True(await Eventually.WaitAsync(() => _registry.Active.Count == 0), "the session stayed in the registry");
    }

}
