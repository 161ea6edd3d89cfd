using Microsoft.Extensions.Logging;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Sessions;

namespace Wire.Http.Proxy;

/// <summary>
/// The connection in the gateway's session registry (issue 9), when there is one: registered at its first
/// authenticated, routed request and again when a later request on the same connection carries another identity (one
/// entry per connection and identity, like its recording). Each such request counts as a command; bodies, heads and
/// tunnelled bytes add to the byte counters. An administrator's termination closes the connection (DESIGN.md §4).
/// </summary>
internal sealed partial class HttpProxySession
{
    /// <summary>Cancelled when an administrator terminates the connection's session; null when the gateway has no registry.</summary>
    private CancellationTokenSource? _connection;
    private LiveSession? _live;
    private CancellationTokenRegistration _liveTermination;
    private long _requestHeadBytes;
    private long _responseHeadBytes;

    private void TrackLiveSession(SessionRegistry sessions, WireIdentity identity, HttpTargetOptions target)
    {
        if (_live is null || !string.Equals(_live.Identity.Subject, identity.Subject, StringComparison.Ordinal))
        {
            EndLiveSession();
            _live = sessions.Register(WireProtocol.Http, target.Name, _clientEndPoint, identity,
                target.RequireGrant ? _server.Enforcement?.Grants : null);
            _liveTermination = _live.Terminated.UnsafeRegister(static state => ((HttpProxySession)state!).OnTerminated(), this);
        }
        else if (target.RequireGrant && _live.Grant is null && _server.Enforcement?.Grants is { } grants)
        {
            // A later request on the connection for a target that requires a grant: the connection now ends with the grant.
            // False only when the grant ended since the request was checked; the caller then refuses the request.
            grants.Admit(_live);
        }
        _live.CountCommand();
        _live.AddBytes(_requestHeadBytes, 0);
    }

    /// <summary>Runs on the thread pool when an administrator terminates the session: the connection closes now.</summary>
    private void OnTerminated()
    {
        var live = _live;
        Log.Terminated(_logger, _id, live?.Identity.Subject ?? "", live?.TerminationReason ?? "");
        try
        {
            _connection?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The connection ended meanwhile.
        }
    }

    private void EndLiveSession()
    {
        // Waits for a termination callback that is running, so it never sees a disposed token source.
        _liveTermination.Dispose();
        _liveTermination = default;
        _live?.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(3013, LogLevel.Warning, "HTTP session {SessionId}: session of {Subject} {Reason}; closing the connection")]
        public static partial void Terminated(ILogger logger, long sessionId, string subject, string reason);
    }
}
