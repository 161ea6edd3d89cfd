using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Wire.Enforcement.Diagnostics;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Sessions;
using Wire.Enforcement.Transport;

namespace Wire.Postgres.Proxy;

/// <summary>
/// One client connection: the handshake (TLS, token, upstream login; PgProxySession.Startup.cs),
/// then two pumps that relay whole frames each way (PgProxySession.Relay.cs).
/// </summary>
internal sealed partial class PgProxySession
{
    private readonly PgProxyServer _server;
    /// <summary>The client's socket; null when the host brought its own pipes.</summary>
    private readonly Socket? _clientSocket;

    /// <summary>The connection to the server the host brought, to log in over instead of dialing the target; null dials.</summary>
    private readonly IDuplexPipe? _upstreamTransport;
    private readonly ILogger _logger;
    private readonly IPEndPoint _clientEndPoint;
    private readonly WirePipe _clientPipe;
    private Stream _clientStream;
    private SslStream? _clientTls;
    private PgUpstreamConnection? _upstream;
    private WireIdentity? _identity;
    private PgTargetOptions? _target;
    private int _wireProcessId;

    /// <summary>This connection's count against the listener's limits, in total and (once logged in) per identity.</summary>
    private ConnectionLease? _lease;

    /// <summary>This session in the gateway's session registry; null when there is none (or before login).</summary>
    private LiveSession? _live;

    /// <summary>A session on a socket the listener accepted from <paramref name="client"/> (its peer, or the PROXY protocol's client).</summary>
    public PgProxySession(PgProxyServer server, Socket clientSocket, IPEndPoint? client, long id)
        : this(server, WirePipes.FromSocket(clientSocket, "pg-client", bufferBytes: server.Options.Limits.BufferBytes),
            client, clientSocket, upstreamTransport: null, id)
    {
    }

    /// <summary>A session over pipes a host brought (<see cref="PgProxyServer.RunAsync"/>).</summary>
    public PgProxySession(PgProxyServer server, WirePipe clientPipe, IPEndPoint? clientEndPoint, Socket? clientSocket,
        IDuplexPipe? upstreamTransport, long id)
    {
        _server = server;
        _clientSocket = clientSocket;
        _upstreamTransport = upstreamTransport;
        _logger = server.Logger;
        Id = id;
        _clientEndPoint = clientEndPoint ?? new IPEndPoint(IPAddress.None, 0);
        _clientPipe = clientPipe;
        _clientStream = _clientPipe.AsStream();
    }

    public long Id { get; }

    private PgProxyOptions Options => _server.Options;

    public async Task RunAsync(CancellationToken ct)
    {
        WireDiagnostics.Connections.Add(1, new KeyValuePair<string, object?>("network.protocol.name", "postgresql"));
        PgSessionEndReason reason = PgSessionEndReason.NotEstablished;
        // Over the listener's limit the client is still read up to its startup message, so it is told why (53300).
        _lease = _server.Gate.Enter();
        try
        {
            if (await HandshakeAsync(ct).ConfigureAwait(false))
            {
                if (_server.Enforcement?.Sessions is { } sessions)
                {
                    _live = sessions.Register(WireProtocol.Postgres, _target!.Name, _clientEndPoint.ToString(), _identity!,
                        _target.RequireGrant ? _server.Enforcement.Grants : null);
                }

                WireDiagnostics.ActiveSessions.Add(1, new KeyValuePair<string, object?>("network.protocol.name", "postgresql"));
                try
                {
                    reason = await RelayAsync(ct).ConfigureAwait(false);
                }
                finally
                {
                    WireDiagnostics.ActiveSessions.Add(-1, new KeyValuePair<string, object?>("network.protocol.name", "postgresql"));
                }
            }
        }
        finally
        {
            _lease.Dispose();
            if (_wireProcessId != 0)
            {
                _server.CancelRegistry.Unregister(_wireProcessId);
            }

            await CompleteRecordingAsync(reason).ConfigureAwait(false);
            _live?.Dispose();
            _upstream?.Dispose();
            _clientTls?.Dispose();
            _clientPipe.Dispose();
            WireDiagnostics.SessionsEnded.Add(1, new KeyValuePair<string, object?>("wire.end_reason", reason.ToString()));
            if (_identity is not null)
            {
                Log.SessionEnded(_logger, Id, _identity.Subject, _target?.Name ?? "", reason);
            }
        }
    }

    internal static partial class Log
    {
        [LoggerMessage(2001, LogLevel.Information, "Session {SessionId}: {Subject} connected to target {Target} from {Client} (tls: {Tls}, upstream tls: {UpstreamTls})")]
        public static partial void SessionStarted(ILogger logger, long sessionId, string subject, string target, IPEndPoint client, bool tls, bool upstreamTls);

        [LoggerMessage(2002, LogLevel.Information, "Session {SessionId}: {Subject} on {Target} ended: {Reason}")]
        public static partial void SessionEnded(ILogger logger, long sessionId, string subject, string target, PgSessionEndReason reason);

        [LoggerMessage(2003, LogLevel.Warning, "Session {SessionId}: refused client {Client}: {SqlState} {Reason}")]
        public static partial void Refused(ILogger logger, long sessionId, IPEndPoint client, string sqlState, string reason);

        [LoggerMessage(2004, LogLevel.Warning, "Session {SessionId}: authentication failed for user {User} from {Client}: {Reason}")]
        public static partial void AuthenticationFailed(ILogger logger, long sessionId, string user, IPEndPoint client, string reason);

        [LoggerMessage(2005, LogLevel.Warning, "Session {SessionId}: target {Target} unavailable: {Detail}")]
        public static partial void UpstreamFailed(ILogger logger, long sessionId, string target, string detail, Exception? exception);

        [LoggerMessage(2006, LogLevel.Warning, "Session {SessionId}: protocol violation by the {Peer}: {Reason}")]
        public static partial void ProtocolViolation(ILogger logger, long sessionId, string peer, string reason);

        [LoggerMessage(2007, LogLevel.Information, "Session {SessionId}: handshake with {Client} was abandoned")]
        public static partial void HandshakeAbandoned(ILogger logger, long sessionId, IPEndPoint client);

        [LoggerMessage(2019, LogLevel.Information, "Session {SessionId}: handshake with {Client} did not finish within {Timeout}; refused with 57014")]
        public static partial void HandshakeTimedOut(ILogger logger, long sessionId, IPEndPoint client, TimeSpan timeout);

        [LoggerMessage(2008, LogLevel.Information, "Cancel request forwarded to {Upstream}")]
        public static partial void CancelDelivered(ILogger logger, IPEndPoint upstream);

        [LoggerMessage(2009, LogLevel.Information, "Cancel request from {Client} names no session")]
        public static partial void CancelUnknown(ILogger logger, IPEndPoint client);

        [LoggerMessage(2010, LogLevel.Warning, "Session {SessionId}: I/O error on the {Peer} connection: {Reason}")]
        public static partial void IoError(ILogger logger, long sessionId, string peer, string reason);

        [LoggerMessage(2011, LogLevel.Warning, "Session {SessionId}: TLS handshake with {Client} failed: {Reason}")]
        public static partial void TlsFailed(ILogger logger, long sessionId, IPEndPoint client, string reason);

        [LoggerMessage(2012, LogLevel.Information, "Session {SessionId}: review {ReviewId} requested by rule {Rule}")]
        public static partial void ReviewRequested(ILogger logger, long sessionId, string reviewId, string rule);

        [LoggerMessage(2013, LogLevel.Information, "Session {SessionId}: review {ReviewId} {Outcome} by {Approver}")]
        public static partial void ReviewDecided(ILogger logger, long sessionId, string reviewId, string outcome, string approver);

        [LoggerMessage(2015, LogLevel.Warning, "Session {SessionId}: catalog lookup failed, masking whole columns meanwhile: {Reason}")]
        public static partial void CatalogFailed(ILogger logger, long sessionId, string reason);

        [LoggerMessage(2017, LogLevel.Warning, "Session {SessionId}: refused {Client}: {Reason}")]
        public static partial void OverLimit(ILogger logger, long sessionId, IPEndPoint client, string reason);

        [LoggerMessage(2018, LogLevel.Information, "Session {SessionId}: {Subject} on {Target} ended: idle for more than {Timeout}")]
        public static partial void IdleEnded(ILogger logger, long sessionId, string subject, string target, TimeSpan timeout);

        [LoggerMessage(2016, LogLevel.Warning, "Session {SessionId}: session of {Subject} on {Target} {Reason}")]
        public static partial void Terminated(ILogger logger, long sessionId, string subject, string target, string reason);

        [LoggerMessage(2014, LogLevel.Error, "Session {SessionId}: review {ReviewId} failed, statement refused: {Reason}")]
        public static partial void ReviewFailed(ILogger logger, long sessionId, string reviewId, string reason);
    }
}
