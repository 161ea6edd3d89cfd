using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;

namespace Wire.Enforcement;

/// <summary>
/// A peer sent bytes that break its protocol (bad length, unknown message type, a field that does not
/// parse). The only exception a Wire parser lets escape; the session answers with its protocol's
/// "malformed input" error and closes. The message names the rule that was broken, never payload bytes.
/// </summary>
public sealed class ProtocolViolationException : Exception
{
    /// <summary>Creates the exception with a reason that is safe to log and to show to the peer.</summary>
    public ProtocolViolationException(string reason)
        : base(reason)
    {
    }

    /// <summary>Creates the exception with a reason and the error that revealed it.</summary>
    public ProtocolViolationException(string reason, Exception innerException)
        : base(reason, innerException)
    {
    }

    /// <summary>Throws a <see cref="ProtocolViolationException"/>; kept out of line so callers stay small.</summary>
    [DoesNotReturn]
    [StackTraceHidden]
    public static void Throw(string reason) => throw new ProtocolViolationException(reason);
}
