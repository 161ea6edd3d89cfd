using System.Net;
using System.Security.Cryptography.X509Certificates;
using Wire.Http.Protocol;

namespace Wire.Http.Proxy;

/// <summary>The HTTP listener (the <c>http</c> config section).</summary>
public sealed class HttpProxyOptions
{
    /// <summary>Where to listen. Default 127.0.0.1:8443.</summary>
    public IPEndPoint Listen { get; set; } = new(IPAddress.Loopback, 8443);

    /// <summary>The certificate (with its key) for client TLS; null serves plain HTTP.</summary>
    public X509Certificate2? ServerCertificate { get; set; }

    /// <summary>
    /// Every connection starts with a PROXY protocol header (v1 or v2) from a TCP load balancer, whose client address Wire
    /// logs, records and forwards (<c>X-Forwarded-For</c>); a connection without one is closed. Default false.
    /// </summary>
    public bool ProxyProtocol { get; set; }

    /// <summary>Head, chunk and drain limits.</summary>
    public Http1Limits Limits { get; set; } = Http1Limits.Default;

    /// <summary>How long a client may take for its TLS handshake and each request head. Default 30 s.</summary>
    public TimeSpan HeadTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long connecting to an upstream (TCP and TLS) may take. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a target may take to begin its response (its final response head) once the request, body included, has
    /// been forwarded. A target that misses it is answered 504 for it and its connection closed. Default 60 s.
    /// </summary>
    public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Unread bytes each of a connection's pipes holds before Wire stops reading from that peer (back-pressure): bodies
    /// stream through at most this much per direction and leg. Default 1 MiB; from 64 KiB to 256 MiB.
    /// </summary>
    public long BufferBytes { get; set; } = Wire.Enforcement.Transport.WirePipes.DefaultBufferBytes;

    /// <summary>Idle upstream connections kept per target for reuse. Default 64.</summary>
    public int MaxIdleUpstreamConnections { get; set; } = 64;

    /// <summary>The targets, in config order.</summary>
    public List<HttpTargetOptions> Targets { get; } = [];

    /// <summary>
    /// How many clients the listener serves (in total and per identity) and how long an idle session may stay. The idle
    /// timeout applies to upgraded connections (WebSocket, tunnels); between requests, <see cref="HeadTimeout"/> closes an
    /// idle keep-alive connection.
    /// </summary>
    public Wire.Enforcement.Transport.ConnectionLimits Connections { get; set; } = new();
}
