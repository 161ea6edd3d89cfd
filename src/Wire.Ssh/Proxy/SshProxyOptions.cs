using Wire.Ssh.Keys;

namespace Wire.Ssh.Proxy;

/// <summary>A host Wire logs in to on a client's behalf, with a credential the client never sees.</summary>
public sealed class SshProxyTarget
{
    /// <summary>The target's name: what follows the last <c>+</c> of an SSH user name.</summary>
    public required string Name { get; init; }

    /// <summary>
    /// Clients need a valid just-in-time grant for this target (config <c>requireGrant</c>): without one the connection
    /// is refused (DESIGN.md §4), and when the grant ends the session is ended.
    /// </summary>
    public bool RequireGrant { get; init; }

    /// <summary>Host name or address Wire connects to.</summary>
    public required string Host { get; init; }

    /// <summary>TCP port, 22 by default.</summary>
    public int Port { get; init; } = 22;

    /// <summary>The user Wire logs in as.</summary>
    public required string UserName { get; init; }

    /// <summary>The key Wire logs in with (tried first).</summary>
    public SshPrivateKey? PrivateKey { get; init; }

    /// <summary>The password Wire logs in with (tried after the key, or alone).</summary>
    public string? Password { get; init; }

    /// <summary>The target's host key must be listed here (OpenSSH known_hosts); anything else is refused.</summary>
    public required SshKnownHosts KnownHosts { get; init; }

    /// <summary>What clients may forward through this target: TCP both ways by default; agent, X11 and Unix sockets only when set.</summary>
    public SshForwarding Forwarding { get; init; } = SshForwarding.Local | SshForwarding.Remote;
}

/// <summary>Kinds of forwarding a target allows (config <c>ssh.targets[].forwarding</c>).</summary>
[Flags]
public enum SshForwarding
{
    /// <summary>Nothing is forwarded.</summary>
    None = 0,

    /// <summary>Client-opened TCP connections from the target (<c>direct-tcpip</c>, <c>ssh -L</c>).</summary>
    Local = 1,

    /// <summary>Ports listened on at the target (<c>tcpip-forward</c> and <c>forwarded-tcpip</c>, <c>ssh -R</c>).</summary>
    Remote = 2,

    /// <summary>The client's SSH agent offered to the target (<c>auth-agent-req@openssh.com</c>, <c>ssh -A</c>).</summary>
    Agent = 4,

    /// <summary>X11 connections from the target to the client's display (<c>x11-req</c>, <c>ssh -X</c>).</summary>
    X11 = 8,

    /// <summary>Unix-domain sockets both ways (<c>direct-streamlocal@openssh.com</c>, <c>streamlocal-forward@openssh.com</c>).</summary>
    StreamLocal = 16,
}

/// <summary>The SSH proxy's settings (config key <c>ssh</c>).</summary>
public sealed class SshProxyOptions
{
    /// <summary>Wire's host keys (the server role), at least one.</summary>
    public required IReadOnlyList<SshPrivateKey> HostKeys { get; init; }

    /// <summary>The hosts clients may reach, at least one.</summary>
    public required IReadOnlyList<SshProxyTarget> Targets { get; init; }

    /// <summary>
    /// Every connection starts with a PROXY protocol header (v1 or v2) from a TCP load balancer, whose client address Wire
    /// logs and records; a connection without one is closed. Default false.
    /// </summary>
    public bool ProxyProtocol { get; init; }

    /// <summary>Per channel and direction, the most data Wire holds for a peer that is not reading (the window it grants). Default 2 MiB.</summary>
    public int ChannelBufferBytes { get; init; } = 2 << 20;

    /// <summary>The largest data Wire takes in one channel message (advertised to both peers).</summary>
    public int MaxChannelPacket { get; init; } = 32 * 1024;

    /// <summary>Channels open at once per connection.</summary>
    public int MaxChannels { get; init; } = 64;

    /// <summary>Time for the key exchange and user authentication.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Time to reach and log in to a target.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Bytes after which Wire re-keys a leg on its own (each peer may start earlier).</summary>
    public long RekeyBytes { get; init; } = 1L << 30;

    /// <summary>
    /// The longest SSH packet accepted from either peer (its <c>packet_length</c>), checked before it is buffered; a longer
    /// one ends the connection as a protocol error. Default 256 KiB, as OpenSSH.
    /// </summary>
    public int MaxPacketBytes { get; init; } = 256 * 1024;

    /// <summary>How many clients the listener serves (in total and per identity) and how long an idle session may stay.</summary>
    public Wire.Enforcement.Transport.ConnectionLimits Connections { get; init; } = new();

    /// <summary>
    /// The target a user name names: <c>subject+target</c> split at the last <c>+</c>; with one target the suffix may be
    /// left out. Null when no target matches.
    /// </summary>
    public SshProxyTarget? TargetFor(string userName)
    {
        int plus = userName.LastIndexOf('+');
        if (plus < 0)
        {
            return Targets.Count == 1 ? Targets[0] : null;
        }
        string name = userName[(plus + 1)..];
        return Targets.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.Ordinal));
    }

    /// <summary>The subject part of a user name.</summary>
    public static string SubjectOf(string userName)
    {
        int plus = userName.LastIndexOf('+');
        return plus < 0 ? userName : userName[..plus];
    }
}
