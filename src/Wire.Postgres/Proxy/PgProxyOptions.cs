using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace Wire.Postgres.Proxy;

/// <summary>Settings of one PostgreSQL listener and the targets it serves.</summary>
public sealed class PgProxyOptions
{
    /// <summary>Where Wire accepts PostgreSQL clients.</summary>
    public IPEndPoint Listen { get; set; } = new(IPAddress.Loopback, 6432);

    /// <summary>The certificate (with private key) offered to clients that ask for TLS; null disables client TLS.</summary>
    public X509Certificate2? ServerCertificate { get; set; }

    /// <summary>Refuse clients that do not use TLS (28000).</summary>
    public bool TlsRequired { get; set; }

    /// <summary>
    /// Accept a token sent as a cleartext password over a connection that is neither TLS nor loopback.
    /// Off by default: such a token could be read off the network.
    /// </summary>
    public bool AllowCleartextWithoutTls { get; set; }

    /// <summary>
    /// Every connection starts with a PROXY protocol header (v1 or v2) from a TCP load balancer, whose client address Wire
    /// then logs, records and applies its loopback rule to; a connection without one is closed. Default false.
    /// </summary>
    public bool ProxyProtocol { get; set; }

    /// <summary>Frame and time limits.</summary>
    public PgLimits Limits { get; set; } = new();

    /// <summary>How many clients the listener serves (in total and per identity) and how long an idle session may stay.</summary>
    public Wire.Enforcement.Transport.ConnectionLimits Connections { get; set; } = new();

    /// <summary>The databases clients may reach, picked by the startup <c>database</c> parameter.</summary>
    public IList<PgTargetOptions> Targets { get; } = new List<PgTargetOptions>();
}

/// <summary>Limits that protect Wire from oversized or slow peers.</summary>
public sealed class PgLimits
{
    /// <summary>Largest frame accepted in either direction, bytes (header excluded). Default 1 GiB, PostgreSQL's own ceiling.</summary>
    public int MaxFrameBytes { get; set; } = 1 << 30;

    /// <summary>Largest frame Wire buffers whole to inspect it (startup, authentication), bytes. Default 1 MiB.</summary>
    public int MaxInspectedFrameBytes { get; set; } = 1 << 20;

    /// <summary>
    /// Largest message Wire buffers whole to judge it when enforcement is on (Query, Parse, Bind, ...), bytes. A longer
    /// one ends the session with 08P01. Default 64 MiB.
    /// </summary>
    public int MaxJudgedMessageBytes { get; set; } = 64 << 20;

    /// <summary>Time allowed from accept until the session is established (TLS, token, upstream login). Default 30 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time allowed to open the TCP connection to a target. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Unread bytes each of a session's pipes holds before Wire stops reading from that peer (back-pressure), so a session
    /// buffers about four times this at most (two pipes per leg). Default 1 MiB; from 64 KiB to 256 MiB.
    /// </summary>
    public long BufferBytes { get; set; } = Wire.Enforcement.Transport.WirePipes.DefaultBufferBytes;
}

/// <summary>How Wire protects its connection to a target (libpq's <c>sslmode</c> values that make sense for a gateway).</summary>
public enum PgSslMode
{
    /// <summary>Plain TCP.</summary>
    Disable,

    /// <summary>TLS when the server offers it, without verification; plain otherwise.</summary>
    Prefer,

    /// <summary>TLS or fail, without verification of the server certificate.</summary>
    Require,

    /// <summary>TLS or fail; the chain must lead to <see cref="PgTargetOptions.SslRootCertificates"/> and the name must match the host.</summary>
    VerifyFull,
}

/// <summary>One upstream database and the credential Wire holds for it.</summary>
public sealed class PgTargetOptions
{
    /// <summary>The name clients give as their startup <c>database</c>.</summary>
    public required string Name { get; set; }

    /// <summary>
    /// Clients need a valid just-in-time grant for this target (config <c>requireGrant</c>): without one the connection
    /// is refused (DESIGN.md §4), and when the grant ends the session is ended.
    /// </summary>
    public bool RequireGrant { get; set; }

    /// <summary>Host name or address of the PostgreSQL server.</summary>
    public required string Host { get; set; }

    /// <summary>TCP port of the PostgreSQL server.</summary>
    public int Port { get; set; } = 5432;

    /// <summary>The database on the server; defaults to <see cref="Name"/>.</summary>
    public string? Database { get; set; }

    /// <summary>The role Wire logs in as.</summary>
    public required string Username { get; set; }

    /// <summary>The role's password (already resolved from <c>env:</c>/<c>file:</c>); null when the server needs none.</summary>
    public string? Password { get; set; }

    /// <summary>TLS toward the server.</summary>
    public PgSslMode SslMode { get; set; } = PgSslMode.Prefer;

    /// <summary>Trust anchors for <see cref="PgSslMode.VerifyFull"/>; when empty the system store is used.</summary>
    public X509Certificate2Collection SslRootCertificates { get; } = new();
}
