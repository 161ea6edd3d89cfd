using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging;
using Wire.Enforcement;
using Wire.Enforcement.Transport;
using Wire.Ssh.Keys;
using Wire.Ssh.Proxy;
using Wire.Ssh.Tests.Keys;
using Wire.Testing;

namespace Wire.Ssh.Tests.Infrastructure;

/// <summary>
/// Wire's SSH proxy on 127.0.0.1 in front of the sshd fixture, as the proxy tests use it: alice logs in with her key
/// (made here) or <see cref="Token"/>, as <c>alice+NAME</c> for each target; Wire logs in to sshd with the fixture's key.
/// </summary>
internal sealed class WireSshHarness : IAsyncDisposable
{
    public const string Token = "tok-alice-3c9e";
    private readonly SshPrivateKey _targetKey;
    private readonly SshProxyServer _server;

    /// <summary>Starts Wire with one target per entry (all the same sshd), by default <c>app</c> with TCP forwarding.</summary>
    public WireSshHarness(SshdFixture sshd, params (string Name, SshForwarding Forwarding)[] targets)
        : this(sshd, null, targets)
    {
    }

    /// <summary>As above, with rules, approvals and recording.</summary>
    public WireSshHarness(SshdFixture sshd, WireEnforcement? enforcement, params (string Name, SshForwarding Forwarding)[] targets)
        : this(sshd, enforcement, null, null, null, targets)
    {
    }

    /// <summary>As above, with connection limits and a logger factory.</summary>
    public WireSshHarness(SshdFixture sshd, WireEnforcement? enforcement, ConnectionLimits? connections, ILoggerFactory? loggers,
        int? maxPacketBytes, params (string Name, SshForwarding Forwarding)[] targets)
    {
        Keys.Generate("alice", "ed25519");
        _targetKey = OpenSshKeyFile.Parse(File.ReadAllText(sshd.ClientKeyPath));
        if (targets.Length == 0)
        {
            targets = [("app", SshForwarding.Local | SshForwarding.Remote)];
        }
        var options = new SshProxyOptions
        {
            HostKeys = [SshKeys.Ed25519, SshKeys.Rsa],
            Targets = [.. targets.Select(t => new SshProxyTarget
            {
                Name = t.Name, Host = "127.0.0.1", Port = sshd.Port, UserName = sshd.UserName, PrivateKey = _targetKey,
                KnownHosts = SshKnownHosts.Parse(sshd.KnownHostsLine + "\n"), Forwarding = t.Forwarding,
            })],
            Connections = connections ?? new ConnectionLimits(),
            MaxPacketBytes = maxPacketBytes ?? 256 * 1024,
        };
        _server = new SshProxyServer(new IPEndPoint(IPAddress.Loopback, 0), options,
            new TestAuthenticator("alice", [Keys.PublicKey("alice")], Token), loggers ?? NullLoggerFactory.Instance, enforcement);
        _server.Start();
    }

    /// <summary>Key files; <c>alice</c> is the client's.</summary>
    public SshKeygen Keys { get; } = new();

    public int Port => _server.LocalEndPoint.Port;

    /// <summary>The proxy server (for sessions over a test's own pipes).</summary>
    public SshProxyServer Server => _server;

    /// <summary>Connections Wire has open now, handshakes included.</summary>
    public int ActiveConnections => _server.ActiveConnections;

    /// <summary>OpenSSH ssh options for Wire with alice's key and no host key checks, then <paramref name="extra"/>.</summary>
    public List<string> SshArguments(params string[] extra) => Arguments("-p", extra);

    /// <summary>The same for scp and sftp, which take the port as -P.</summary>
    public List<string> ScpArguments(params string[] extra) => Arguments("-P", extra);

    private List<string> Arguments(string portOption, string[] extra) =>
    [
        "-F", "/dev/null", portOption, Port.ToString(CultureInfo.InvariantCulture), "-i", Keys.PathOf("alice"), "-o", "IdentitiesOnly=yes",
        "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "LogLevel=ERROR", .. extra,
    ];

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        _targetKey.Dispose();
        Keys.Dispose();
    }
}

/// <summary>A test class with Wire in front of the sshd fixture for each test (a fresh <see cref="WireSshHarness"/>).</summary>
public abstract class WireSshTestBase(SshdFixture sshd, params (string Name, SshForwarding Forwarding)[] targets) : IAsyncLifetime
{
    protected const string Token = WireSshHarness.Token;
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private WireSshHarness? _wire;

    protected SshdFixture Sshd => sshd;

    protected int Port => _wire!.Port;

    /// <summary>Connections Wire has open now.</summary>
    protected int ActiveConnections => _wire!.ActiveConnections;

    /// <summary>Key files; <c>alice</c> is the client's.</summary>
    internal SshKeygen Keys => _wire!.Keys;

    protected List<string> SshArguments(params string[] extra) => _wire!.SshArguments(extra);

    protected List<string> ScpArguments(params string[] extra) => _wire!.ScpArguments(extra);

    protected static int FreePort() => WireSshHarness.FreePort();

    /// <summary>An ssh command line for a shell (tmux, script): the arguments quoted.</summary>
    protected string SshCommandLine(params string[] extra) =>
        "ssh " + string.Join(' ', SshArguments(extra).Select(a => "'" + a.Replace("'", "'\\''", StringComparison.Ordinal) + "'"));

    /// <summary>
    /// Starts an OpenSSH ControlMaster (one connection to Wire as <paramref name="user"/>) at <paramref name="control"/>;
    /// disposing it asks the master to exit.
    /// </summary>
    protected async Task<IAsyncDisposable> ControlMasterAsync(string control, string user = "alice+app@127.0.0.1")
    {
        var master = await Processes.RunAsync("ssh", SshArguments("-o", "ControlMaster=yes", "-o", "ControlPath=" + control, "-o", "ControlPersist=30",
            "-f", "-N", user), Timeout);
        Assert.True(master.ExitCode == 0, master.StandardError);
        return new Stop(async () => await Processes.RunAsync("ssh", SshArguments("-o", "ControlPath=" + control, "-O", "exit", user), Timeout));
    }

    private sealed class Stop(Func<Task> stop) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await stop();
    }

    /// <summary>The rules, approvals and recording Wire runs with; none by default.</summary>
    protected virtual WireEnforcement? Enforcement => null;

    /// <summary>The listener's connection limits; null for the defaults.</summary>
    protected virtual ConnectionLimits? Connections => null;

    /// <summary>The longest packet Wire accepts; null for the default.</summary>
    protected virtual int? MaxPacketBytes => null;

    /// <summary>What Wire logged.</summary>
    private protected ListLoggerProvider Logs { get; } = new();

    public virtual Task InitializeAsync()
    {
        _wire = new WireSshHarness(sshd, Enforcement, Connections, Logs.Factory, MaxPacketBytes, targets);
        return Task.CompletedTask;
    }

    public virtual async Task DisposeAsync()
    {
        if (_wire is not null)
        {
            await _wire.DisposeAsync();
        }
    }
}
