using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Wire.Enforcement;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Recording;
using Wire.Http.Proxy;

namespace Wire.Http.Tests.Proxy;

/// <summary>kubectl-style exec over WebSocket through Wire: stdout and stderr masked in the frames, stdin recorded.</summary>
public sealed class HttpExecStreamTests(UpstreamApp upstream) : IClassFixture<UpstreamApp>, IDisposable
{
    private static readonly byte[] Key = Encoding.UTF8.GetBytes("an-exec-stream-recording-key-32-bytes-long");
    private readonly string _directory = Directory.CreateTempSubdirectory("wire-exec-recordings-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Exec_output_is_masked_in_the_frames_and_stdin_is_recorded()
    {
        await using (var wire = HttpProxyHarness.Start(
            [new HttpTargetOptions { Name = "kube", Url = upstream.HttpUrl, Kind = HttpTargetKind.Kubernetes, CredentialHeader = "Authorization", CredentialValue = "Bearer admin" }],
            enforcement: new WireEnforcement
            {
                Rules = new RuleSetProvider(RuleSet.Create([new RuleDefinition { Name = "pii", Action = PolicyAction.Mask, Detectors = ["email", "ssn"] }])),
                Recorder = new FileSessionRecorderFactory(new RecordingOptions { Directory = _directory, Key = Key }, TimeProvider.System, NullLoggerFactory.Instance),
            }))
        {
            using var socket = new ClientWebSocket();
            socket.Options.AddSubProtocol("v4.channel.k8s.io");
            socket.Options.SetRequestHeader("Authorization", $"Bearer {HttpProxyHarness.Token}");
            await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{wire.Port}/api/v1/namespaces/dev/pods/web-0/exec?command=sh&stdin=true&stdout=true&stderr=true"),
                CancellationToken.None);
            Assert.Equal("v4.channel.k8s.io", socket.SubProtocol);

            byte[] stdin = [0, .. Encoding.UTF8.GetBytes("cat /etc/app.conf\n")];
            await socket.SendAsync(stdin, WebSocketMessageType.Binary, true, CancellationToken.None);
            var stdout = await Receive(socket);
            var stderr = await Receive(socket);
            Assert.Equal(1, stdout[0]);
            Assert.Equal(2, stderr[0]);
            string output = Encoding.UTF8.GetString(stdout, 1, stdout.Length - 1);
            string errors = Encoding.UTF8.GetString(stderr, 1, stderr.Length - 1);
            Assert.Equal("ran cat /etc/app.conf for *****************\n", output);
            Assert.Equal("warning: ssn *********** in output\n", errors);
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
        }

        var file = Assert.Single(Directory.GetFiles(_directory, "*.jsonl"));
        for (int i = 0; i < 100 && !File.ReadAllText(file).Contains("session.end", StringComparison.Ordinal); i++)
        {
            await Task.Delay(50);
        }
        Assert.True(RecordingVerifier.VerifyFile(file, Key).IsValid);
        string recording = File.ReadAllText(file);
        Assert.Contains("\"type\":\"k8s.stdin\",\"text\":\"cat /etc/app.conf\\n\"", recording, StringComparison.Ordinal);
        Assert.Contains("\"status\":\"101 Switching Protocols\"", recording, StringComparison.Ordinal);
    }

    private static async Task<byte[]> Receive(ClientWebSocket socket)
    {
        var buffer = new byte[4096];
        int count = 0;
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(new ArraySegment<byte>(buffer, count, buffer.Length - count), CancellationToken.None);
            count += result.Count;
        }
        while (!result.EndOfMessage);
        return buffer[..count];
    }
}
