using Microsoft.Extensions.Logging;
using Wire.Enforcement.Diagnostics;
using Wire.Enforcement.Grants;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Sessions;
using Wire.Ssh.Authentication;
using Wire.Ssh.Protocol;

namespace Wire.Ssh.Proxy;

/// <summary>
/// The connection in the gateway's session registry (issue 9), when there is one: registered after login, each judged
/// request counted as a command (see <see cref="Decide"/>), channel data counted both ways. An administrator's
/// termination sends the client SSH_MSG_DISCONNECT "by application" with the reason and ends the connection
/// (DESIGN.md §4).
/// </summary>
internal sealed partial class SshProxySession
{
    private LiveSession? _live;
    private CancellationTokenRegistration _liveTermination;
    private Task? _terminating;

    /// <summary>
    /// The last check of a login: a target that requires a grant admits only an identity that holds a valid one (with no
    /// grants configured, nobody). Null admits; otherwise the reason the client is told.
    /// </summary>
    private string? Admit(SshUserAuthServer.Result login)
    {
        if (_options.TargetFor(login.UserName) is { RequireGrant: true } target
            && _enforcement?.Grants?.FindValid(login.Identity.Subject, target.Name) is null)
        {
            Log.NoGrant(_logger, _id, login.Identity.Subject, target.Name);
            return GrantRegistry.NoGrantMessage(target.Name);
        }
        // The last check: once counted, the login succeeds (the count ends with the connection).
        if (!_lease.TryCountFor(login.Identity.Subject, out string? refusal))
        {
            Log.OverLimit(_logger, _id, refusal);
            return refusal;
        }
        return null;
    }

    /// <summary>After login: registers the session when the gateway keeps a registry.</summary>
    private void StartLiveSession()
    {
        if (_enforcement?.Sessions is not { } sessions)
        {
            return;
        }
        _live = sessions.Register(WireProtocol.Ssh, _targetOptions!.Name, _clientEndPoint?.ToString() ?? "", Identity!,
            _targetOptions.RequireGrant ? _enforcement.Grants : null);
        _liveTermination = _live.Terminated.UnsafeRegister(static state =>
        {
            var session = (SshProxySession)state!;
            session._terminating = session.TerminateAsync();
        }, this);
    }

    /// <summary>Tells the client why and ends the connection; bounded (the disconnect gives up after 2 s), never throws.</summary>
    private async Task TerminateAsync()
    {
        await Task.Yield();
        string reason = _live?.TerminationReason ?? "";
        Log.Terminated(_logger, _id, Identity?.Subject ?? "", reason);
        try
        {
            await _client!.TryDisconnectAsync(SshDisconnectReason.ByApplication, "wire: session " + reason)
                .ConfigureAwait(false);
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException or IOException)
        {
            // The connection is already going.
        }
        await _ended.CancelAsync().ConfigureAwait(false);
    }

    /// <summary>At the session's end: waits for a termination in progress, then leaves the registry.</summary>
    private async ValueTask EndLiveSessionAsync()
    {
        if (_live is null)
        {
            return;
        }
        // Waits for a callback that is running, so _terminating is set if termination started.
        _liveTermination.Dispose();
        if (_terminating is { } terminating)
        {
            await terminating.ConfigureAwait(false);
        }
        _live.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "ssh session {Id}: refused: {Reason}")]
        public static partial void OverLimit(ILogger logger, long id, string reason);

        [LoggerMessage(Level = LogLevel.Information, Message = "ssh session {Id}: {Subject} ended: {Reason}")]
        public static partial void IdleEnded(ILogger logger, long id, string subject, string reason);

        [LoggerMessage(Level = LogLevel.Warning, Message = "ssh session {Id}: {Subject} refused: no valid grant for target {Target}")]
        public static partial void NoGrant(ILogger logger, long id, string subject, string target);

        [LoggerMessage(Level = LogLevel.Warning, Message = "ssh session {Id}: session of {Subject} {Reason}; disconnecting")]
        public static partial void Terminated(ILogger logger, long id, string subject, string reason);
    }
}
