using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Renci.SshNet;
using Wire.Enforcement.Transport;
using Wire.Ssh.Authentication;
using Wire.Ssh.Keys;
using Wire.Ssh.Protocol;
using Wire.Ssh.Tests.Infrastructure;
using Wire.Ssh.Tests.Keys;
using Wire.Ssh.Transport;

namespace Wire.Ssh.Tests.Authentication;

/// <summary>
/// User authentication in both roles against real peers: OpenSSH's ssh and SSH.NET log in to Wire (key, token as
/// password, token at the keyboard-interactive prompt); Wire logs in to OpenSSH's sshd with a key, checking sshd's host
/// key against known_hosts.
/// </summary>
public sealed class SshUserAuthTests(SshdFixture sshd) : IClassFixture<SshdFixture>
{
    private const string Token = "tok-alice-7f3a";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task OpenSsh_logs_in_to_wire_with_a_key_and_is_refused_with_another()
    {
        using var keys = new SshKeygen();
        keys.Generate("alice", "ed25519");
        keys.Generate("mallory", "ed25519");
        await using var server = new SshTestServer(new SshTransportOptions { HostKeys = [SshKeys.Ed25519] },
            new TestAuthenticator("alice", [keys.PublicKey("alice")], Token));

        var ok = await SshAsync(server.Port, keys.PathOf("alice"), "alice+app");
        Assert.True(ok.StandardError.Contains("Authenticated to 127.0.0.1", StringComparison.Ordinal), ok.StandardError);
        Assert.Contains("using \"publickey\"", ok.StandardError, StringComparison.Ordinal);
        // The test server refuses channels: the command itself does not run.
        Assert.Contains("no channels in this test", ok.StandardError, StringComparison.Ordinal);
        var who = Assert.Single(server.Authenticated);
        Assert.Equal(("alice", "alice+app", "publickey"), (who.Identity.Subject, who.UserName, who.Method));

        var refused = await SshAsync(server.Port, keys.PathOf("mallory"), "alice+app");
        Assert.Equal(255, refused.ExitCode);
        Assert.Contains("Permission denied", refused.StandardError, StringComparison.Ordinal);

        // The right key under another subject's name is refused too.
        var otherName = await SshAsync(server.Port, keys.PathOf("alice"), "bob+app");
        Assert.Contains("Permission denied", otherName.StandardError, StringComparison.Ordinal);
        Assert.Single(server.Authenticated);
    }

    [Fact]
    public async Task SshNet_logs_in_with_the_token_as_password_and_at_the_keyboard_interactive_prompt()
    {
        await using var server = new SshTestServer(new SshTransportOptions { HostKeys = SshKeys.All }, new TestAuthenticator("alice", [], Token));

        using (var client = new SshClient(new ConnectionInfo("127.0.0.1", server.Port, "alice", new PasswordAuthenticationMethod("alice", Token))))
        {
            await client.ConnectAsync(CancellationToken.None);
            Assert.True(client.IsConnected);
        }

        var keyboard = new KeyboardInteractiveAuthenticationMethod("alice+app");
        string? prompt = null;
        keyboard.AuthenticationPrompt += (_, e) =>
        {
            foreach (var p in e.Prompts)
            {
                prompt = p.Request;
                p.Response = Token;
            }
        };
        using (var client = new SshClient(new ConnectionInfo("127.0.0.1", server.Port, "alice+app", keyboard)))
        {
            await client.ConnectAsync(CancellationToken.None);
            Assert.True(client.IsConnected);
        }
        Assert.Equal("Token: ", prompt);

        using (var client = new SshClient(new ConnectionInfo("127.0.0.1", server.Port, "alice", new PasswordAuthenticationMethod("alice", "wrong"))))
        {
            await Assert.ThrowsAsync<Renci.SshNet.Common.SshAuthenticationException>(() => client.ConnectAsync(CancellationToken.None));
        }
        await WaitForAsync(() => server.Authenticated.Count == 2);
        Assert.Equal(["password", "keyboard-interactive"], server.Authenticated.Select(a => a.Method).ToArray());
    }

    [Fact]
    public async Task Wire_logs_in_to_wire_with_a_key_or_a_password()
    {
        using var key = SshPrivateKey.Generate(SshPublicKey.Ed25519);
        foreach (var (withKey, password, expected) in new[] { (true, (string?)null, "publickey"), (false, Token, "password") })
        {
            var pipes = new PipePair();
            var server = new SshTransport(pipes.B, new SshTransportOptions { HostKeys = [SshKeys.Ed25519] }, isServer: true);
            var client = new SshTransport(pipes.A, new SshTransportOptions { VerifyHostKey = k => k.Equals(SshKeys.Ed25519.PublicKey) }, isServer: false);
            using var cts = new CancellationTokenSource(Timeout);
            await Task.WhenAll(client.HandshakeAsync(cts.Token), server.HandshakeAsync(cts.Token));
            var serving = new SshUserAuthServer(server, new TestAuthenticator("alice", [key.PublicKey], Token)).RunAsync(cts.Token);
            await SshUserAuthClient.AuthenticateAsync(client, "alice+app", withKey ? key : null, password, cts.Token);
            Assert.Equal(expected, (await serving).Method);
        }
    }

    [Fact]
    public async Task Wire_logs_in_to_sshd_with_ed25519_and_rsa_keys_after_checking_its_host_key()
    {
        var knownHosts = SshKnownHosts.Parse(sshd.KnownHostsLine + "\n");
        foreach (string path in new[] { sshd.ClientKeyPath, sshd.RsaClientKeyPath })
        {
            using var key = OpenSshKeyFile.Parse(File.ReadAllText(path));
            await using var connection = await ConnectAsync(sshd.Port, k => knownHosts.Check("127.0.0.1", sshd.Port, k) == SshHostKeyCheck.Trusted);
            await SshUserAuthClient.AuthenticateAsync(connection.Transport, sshd.UserName, key, null, connection.Token);
            if (key.KeyType == SshPublicKey.Rsa)
            {
                Assert.Contains(SshPublicKey.RsaSha512, connection.Transport.ServerSignatureAlgorithms ?? []);
            }
        }
        Assert.Contains("Accepted publickey", sshd.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sshd_refuses_a_key_it_does_not_know_and_wire_refuses_a_host_key_it_does_not_know()
    {
        using var stranger = SshPrivateKey.Generate(SshPublicKey.Ed25519);
        await using (var connection = await ConnectAsync(sshd.Port, _ => true))
        {
            var error = await Assert.ThrowsAsync<SshAuthenticationException>(
                () => SshUserAuthClient.AuthenticateAsync(connection.Transport, sshd.UserName, stranger, null, connection.Token));
            Assert.Contains("refused", error.Message, StringComparison.Ordinal);
        }

        var wrong = SshKnownHosts.Parse($"[127.0.0.1]:{sshd.Port} {stranger.PublicKey.ToOpenSshString()}\n");
        var refused = await Assert.ThrowsAsync<SshProtocolException>(() =>
            ConnectAsync(sshd.Port, k => wrong.Check("127.0.0.1", sshd.Port, k) == SshHostKeyCheck.Trusted).AsTask());
        Assert.Equal(SshDisconnectReason.HostKeyNotVerifiable, refused.Reason);
        Assert.Equal(SshHostKeyCheck.Mismatch, wrong.Check("127.0.0.1", sshd.Port, sshd.HostKey));
    }

    public static TheoryData<string, string> SshdAlgorithms()
    {
        var data = new TheoryData<string, string>();
        foreach (var kex in (string[])[SshAlgorithms.Curve25519, SshAlgorithms.EcdhP256])
        {
            foreach (var cipher in SshAlgorithms.Ciphers)
            {
                data.Add(kex, cipher);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(SshdAlgorithms))]
    public async Task Wire_negotiates_each_algorithm_with_sshd(string kex, string cipher)
    {
        using var key = OpenSshKeyFile.Parse(File.ReadAllText(sshd.ClientKeyPath));
        foreach (var mac in SshAlgorithms.IsAead(cipher) ? [SshAlgorithms.HmacSha256Etm] : SshAlgorithms.Macs)
        {
            await using var connection = await ConnectAsync(sshd.Port, _ => true,
                new SshTransportOptions { VerifyHostKey = _ => true, KeyExchange = [kex], Ciphers = [cipher], Macs = [mac] });
            Assert.True(connection.Transport.StrictKeyExchange);
            Assert.Equal(cipher, connection.Transport.Negotiated!.CipherServerToClient);
            await SshUserAuthClient.AuthenticateAsync(connection.Transport, sshd.UserName, key, null, connection.Token);
        }
    }

    // ---- helpers ----

    private sealed class Connection(SshTransport transport, WirePipe pipe, CancellationTokenSource cts) : IAsyncDisposable
    {
        public SshTransport Transport => transport;

        public CancellationToken Token => cts.Token;

        public async ValueTask DisposeAsync()
        {
            await transport.TryDisconnectAsync(SshDisconnectReason.ByApplication, "test done");
            await transport.DisposeAsync();
            pipe.Dispose();
            cts.Dispose();
        }
    }

    private static async ValueTask<Connection> ConnectAsync(int port, Func<SshPublicKey, bool> verify, SshTransportOptions? options = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        var pipe = WirePipes.FromSocket(socket, "ssh-test-client");
        var transport = new SshTransport(pipe.Pipe, options ?? new SshTransportOptions { VerifyHostKey = verify }, isServer: false);
        var cts = new CancellationTokenSource(Timeout);
        try
        {
            await transport.HandshakeAsync(cts.Token);
        }
        catch
        {
            await transport.DisposeAsync();
            pipe.Dispose();
            cts.Dispose();
            throw;
        }
        return new Connection(transport, pipe, cts);
    }

    private static Task<Processes.Result> SshAsync(int port, string identity, string user) => Processes.RunAsync("ssh",
    [
        "-v", "-F", "/dev/null", "-p", port.ToString(CultureInfo.InvariantCulture), "-i", identity, "-o", "IdentitiesOnly=yes",
        "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "PreferredAuthentications=publickey", $"{user}@127.0.0.1", "true",
    ], Timeout);

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (!condition() && DateTime.UtcNow < until)
        {
            await Task.Delay(20);
        }
    }
}
