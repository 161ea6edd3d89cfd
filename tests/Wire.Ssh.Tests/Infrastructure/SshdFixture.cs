using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Wire.Ssh.Keys;
using Wire.Ssh.Tests.Keys;

namespace Wire.Ssh.Tests.Infrastructure;

/// <summary>
/// A real OpenSSH sshd (Debian's openssh-server, installed by .ci/run) on 127.0.0.1 and a free port, with a throwaway
/// host key and one authorized client key for the user the tests run as. Started once per test class that asks for it.
/// </summary>
public sealed class SshdFixture : IAsyncLifetime
{
    private const string Binary = "/usr/sbin/sshd";
    private readonly SshKeygen _keys = new();
    private Process? _process;

    public int Port { get; private set; }

    public string UserName { get; } = Environment.UserName;

    /// <summary>The client key sshd accepts (its private key file and the parsed key).</summary>
    public string ClientKeyPath => _keys.PathOf("client");

    /// <summary>An RSA client key sshd also accepts.</summary>
    public string RsaClientKeyPath => _keys.PathOf("client-rsa");

    /// <summary>sshd's host key.</summary>
    public SshPublicKey HostKey => _keys.PublicKey("host");

    /// <summary>A known_hosts line for this sshd.</summary>
    public string KnownHostsLine => $"[127.0.0.1]:{Port} {_keys.PublicLine("host")}";

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    private readonly System.Text.StringBuilder _log = new();

    public async Task InitializeAsync()
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"{Binary} is missing: install openssh-server (.ci/run does)");
        }
        _keys.Generate("host", "ed25519");
        _keys.Generate("client", "ed25519");
        _keys.Generate("client-rsa", "rsa", 3072);
        File.WriteAllText(_keys.PathOf("authorized_keys"), _keys.PublicLine("client") + "\n" + _keys.PublicLine("client-rsa") + "\n");
        if (Environment.UserName == "root")
        {
            // Privilege separation needs its empty directory when sshd starts as root.
            Directory.CreateDirectory("/run/sshd");
        }
        Port = FreePort();
        string config = _keys.PathOf("sshd_config");
        File.WriteAllText(config, $"""
            Port {Port}
            ListenAddress 127.0.0.1
            HostKey {_keys.PathOf("host")}
            PidFile {_keys.PathOf("sshd.pid")}
            AuthorizedKeysFile {_keys.PathOf("authorized_keys")}
            StrictModes no
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PermitRootLogin prohibit-password
            RekeyLimit 1M
            ClientAliveInterval 1
            AcceptEnv WIRE_TEST_*
            AllowTcpForwarding yes
            AllowAgentForwarding yes
            AllowStreamLocalForwarding yes
            GatewayPorts no
            X11Forwarding yes
            X11UseLocalhost yes
            Subsystem sftp internal-sftp
            LogLevel VERBOSE
            """);
        var info = new ProcessStartInfo(Binary) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in (string[])["-D", "-e", "-f", config])
        {
            info.ArgumentList.Add(argument);
        }
        _process = Process.Start(info) ?? throw new InvalidOperationException("sshd did not start");
        _process.ErrorDataReceived += (_, e) =>
        {
            lock (_log)
            {
                _log.AppendLine(e.Data);
            }
        };
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(50);
            }
            catch (SocketException)
            {
                throw new InvalidOperationException("sshd did not listen: " + Log);
            }
        }
    }

    public Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        _process?.Dispose();
        _keys.Dispose();
        return Task.CompletedTask;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
