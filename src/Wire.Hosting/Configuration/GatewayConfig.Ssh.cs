using System.Net;
using Wire.Enforcement.Transport;
using Wire.Ssh.Keys;
using Wire.Ssh.Proxy;

namespace Wire.Hosting.Configuration;

internal sealed partial class GatewayConfig
{
    /// <summary>The host key Wire makes on first start when <c>ssh.hostKeys</c> is not given (next to the config file).</summary>
    public const string DefaultSshHostKeyFile = "wire_ssh_host_ed25519_key";

    /// <summary>The SSH listener and its targets; null when the config has no <c>ssh</c> section.</summary>
    public SshGatewayOptions? Ssh { get; private set; }

    private SshGatewayOptions ReadSsh(ConfigReader ssh)
    {
        ssh.EnsureOnly("listen", "proxyProtocol", "hostKeys", "limits", "targets");
        var listen = ssh.GetString("listen") is { } text ? ParseListen(ssh, "listen", text) : new IPEndPoint(IPAddress.Loopback, 2222);

        var hostKeyFiles = ssh.GetPathArray("hostKeys");
        if (hostKeyFiles.Count == 0)
        {
            hostKeyFiles = [System.IO.Path.GetFullPath(DefaultSshHostKeyFile, BaseDirectory)];
        }
        var hostKeys = new List<SshPrivateKey>();
        for (int i = 0; i < hostKeyFiles.Count; i++)
        {
            hostKeys.Add(LoadOrCreateHostKey(hostKeyFiles[i], ssh.PathOf("hostKeys", i)));
        }

        int channelBuffer = 2 << 20;
        int maxChannels = 64;
        var handshakeTimeout = TimeSpan.FromSeconds(30);
        var connectTimeout = TimeSpan.FromSeconds(10);
        long rekeyBytes = 1L << 30;
        int maxPacket = 256 * 1024;
        var connections = new ConnectionLimits();
        if (ssh.GetObject("limits") is { } limits)
        {
            limits.EnsureOnly("channelBufferBytes", "maxChannels", "handshakeTimeout", "connectTimeout", "rekeyBytes", "maxPacketBytes",
                "maxConnections", "maxConnectionsPerIdentity", "idleTimeout");
            // RFC 4253 6.1: every implementation handles 35000 bytes; more than the 1 MiB pipe threshold could never be buffered.
            maxPacket = limits.GetInt("maxPacketBytes", 35_000, 1 << 20, maxPacket);
            connections = ReadConnectionLimits(limits);
            channelBuffer = limits.GetInt("channelBufferBytes", 64 * 1024, 64 << 20, channelBuffer);
            maxChannels = limits.GetInt("maxChannels", 1, 1024, maxChannels);
            handshakeTimeout = limits.GetDuration("handshakeTimeout", handshakeTimeout);
            connectTimeout = limits.GetDuration("connectTimeout", connectTimeout);
            rekeyBytes = limits.GetInt("rekeyBytes", 1 << 20, int.MaxValue, (int)rekeyBytes);
        }

        var entries = ssh.GetObjectArray("targets");
        if (entries.Count == 0)
        {
            ssh.Fail("targets", "at least one target is required");
        }
        var targets = new List<SshProxyTarget>();
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var target = ReadSshTarget(entry);
            if (!names.TryAdd(target.Name, targets.Count))
            {
                entry.Fail("name", $"same name as {ssh.PathOf("targets", names[target.Name])}");
            }
            targets.Add(target);
        }
        return new SshGatewayOptions(listen, new SshProxyOptions
        {
            HostKeys = hostKeys,
            Targets = targets,
            ProxyProtocol = ssh.GetBool("proxyProtocol", false),
            ChannelBufferBytes = channelBuffer,
            MaxChannels = maxChannels,
            HandshakeTimeout = handshakeTimeout,
            ConnectTimeout = connectTimeout,
            RekeyBytes = rekeyBytes,
            MaxPacketBytes = maxPacket,
            Connections = connections,
        });
    }

    private static SshProxyTarget ReadSshTarget(ConfigReader target)
    {
        target.EnsureOnly("name", "host", "port", "username", "privateKey", "password", "knownHosts", "forwarding", "requireGrant");
        string name = target.GetRequiredString("name");
        if (name.Contains('+') || name.Any(char.IsWhiteSpace))
        {
            target.Fail("name", "must not contain + or spaces (it follows the + in an SSH user name)");
        }
        string host = target.GetRequiredString("host");
        if (Uri.CheckHostName(host) == UriHostNameType.Unknown)
        {
            target.Fail("host", "must be a host name or an IP address");
        }
        SshPrivateKey? key = null;
        if (target.GetPath("privateKey") is { } keyPath)
        {
            try
            {
                key = OpenSshKeyFile.Parse(target.ReadFile("privateKey", keyPath));
            }
            catch (FormatException e)
            {
                target.Fail("privateKey", e.Message);
            }
        }
        string? password = target.GetSecret("password");
        if (key is null && password is null)
        {
            target.Fail("privateKey", "a target needs a privateKey or a password");
        }
        string knownHostsPath = target.GetPath("knownHosts") ?? throw target.Required("knownHosts");
        var knownHosts = SshKnownHosts.Parse(target.ReadFile("knownHosts", knownHostsPath));
        return new SshProxyTarget
        {
            Name = name,
            RequireGrant = target.GetBool("requireGrant", false),
            Host = host,
            Port = target.GetInt("port", 1, 65535, 22),
            UserName = target.GetRequiredString("username"),
            PrivateKey = key,
            Password = password,
            KnownHosts = knownHosts,
            Forwarding = ReadForwarding(target),
        };
    }

    private static readonly Dictionary<string, SshForwarding> ForwardingKinds = new(StringComparer.Ordinal)
    {
        ["local"] = SshForwarding.Local,
        ["remote"] = SshForwarding.Remote,
        ["agent"] = SshForwarding.Agent,
        ["x11"] = SshForwarding.X11,
        ["streamlocal"] = SshForwarding.StreamLocal,
    };

    /// <summary><c>forwarding</c>: the kinds a target allows; TCP both ways when the key is absent, nothing when the list is empty.</summary>
    private static SshForwarding ReadForwarding(ConfigReader target)
    {
        if (!target.Has("forwarding"))
        {
            return SshForwarding.Local | SshForwarding.Remote;
        }
        var kinds = SshForwarding.None;
        var names = target.GetStringArray("forwarding");
        for (int i = 0; i < names.Count; i++)
        {
            if (!ForwardingKinds.TryGetValue(names[i], out var kind))
            {
                ConfigReader.Throw(target.PathOf("forwarding", i), $"unknown kind '{names[i]}' (expected {string.Join(", ", ForwardingKinds.Keys)})");
            }
            kinds |= kind;
        }
        return kinds;
    }

    /// <summary>Reads a host key file, or makes an Ed25519 key there (mode 600) when the file does not exist yet.</summary>
    private static SshPrivateKey LoadOrCreateHostKey(string path, string configPath)
    {
        try
        {
            if (!File.Exists(path))
            {
                var key = SshPrivateKey.Generate(SshPublicKey.Ed25519);
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                }
                using (var stream = new FileStream(path, options))
                using (var writer = new StreamWriter(stream))
                {
                    writer.Write(OpenSshKeyFile.Write(key, "wire host key"));
                }
                File.WriteAllText(path + ".pub", key.PublicKey.ToOpenSshString("wire host key") + "\n");
                return key;
            }
            return OpenSshKeyFile.Parse(File.ReadAllText(path));
        }
        catch (FormatException e)
        {
            throw ConfigException.ForKey(configPath, $"{path}: {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"{configPath}: cannot read or create host key {path}: {e.Message}", e);
        }
    }
}

/// <summary>The <c>ssh</c> section: where to listen and the proxy's settings.</summary>
internal sealed record SshGatewayOptions(IPEndPoint Listen, SshProxyOptions Proxy);
