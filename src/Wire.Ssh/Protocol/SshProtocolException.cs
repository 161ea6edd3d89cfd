using System.Diagnostics.CodeAnalysis;

namespace Wire.Ssh.Protocol;

/// <summary>
/// The peer broke the protocol (a malformed message, a bad MAC, an oversized length, a message out of order). The
/// connection ends with SSH_MSG_DISCONNECT carrying <see cref="Reason"/> and a log line; the message names no secret.
/// </summary>
public sealed class SshProtocolException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What was wrong, safe to log and to send to the peer.</param>
    /// <param name="reason">The SSH_MSG_DISCONNECT reason code (RFC 4253 §11.1); 2 (protocol error) by default.</param>
    public SshProtocolException(string message, SshDisconnectReason reason = SshDisconnectReason.ProtocolError)
        : base(message)
    {
        Reason = reason;
    }

    /// <summary>The disconnect reason sent to the peer.</summary>
    public SshDisconnectReason Reason { get; }

    [DoesNotReturn]
    internal static void Throw(string message, SshDisconnectReason reason = SshDisconnectReason.ProtocolError) =>
        throw new SshProtocolException(message, reason);
}

/// <summary>SSH_MSG_DISCONNECT reason codes (RFC 4253 §11.1).</summary>
public enum SshDisconnectReason : uint
{
    /// <summary>The host is not allowed to connect.</summary>
    HostNotAllowedToConnect = 1,

    /// <summary>The peer broke the protocol.</summary>
    ProtocolError = 2,

    /// <summary>The key exchange failed.</summary>
    KeyExchangeFailed = 3,

    /// <summary>A MAC did not verify.</summary>
    MacError = 5,

    /// <summary>No algorithm in common, or another unsupported feature.</summary>
    ServiceNotAvailable = 7,

    /// <summary>The protocol version is not supported.</summary>
    ProtocolVersionNotSupported = 8,

    /// <summary>The server's host key could not be verified.</summary>
    HostKeyNotVerifiable = 9,

    /// <summary>The connection was lost.</summary>
    ConnectionLost = 10,

    /// <summary>Ended by the application (an administrator, a grant that expired, shutdown).</summary>
    ByApplication = 11,

    /// <summary>No authentication method is left to try.</summary>
    NoMoreAuthMethodsAvailable = 14,

    /// <summary>The user name is not acceptable.</summary>
    IllegalUserName = 15,
}
