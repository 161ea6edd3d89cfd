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

    /// <summary>Creates the exception with a reason and the protocol's own code for the answer.</summary>
    /// <param name="reason">Why the input is malformed; safe to log and to show to the peer.</param>
    /// <param name="code">The protocol's code for the answer, for example HTTP 501 for an unsupported transfer coding.</param>
    public ProtocolViolationException(string reason, int code)
        : base(reason)
    {
        Code = code;
    }

    /// <summary>Creates the exception with a reason and the error that revealed it.</summary>
    public ProtocolViolationException(string reason, Exception innerException)
        : base(reason, innerException)
    {
    }

    /// <summary>
    /// The protocol's code for the answer (an HTTP status), or 0 when the protocol's default for malformed input
    /// applies (DESIGN.md §4: PostgreSQL 08P01, HTTP 400).
    /// </summary>
    public int Code { get; }

    /// <summary>Throws a <see cref="ProtocolViolationException"/>; kept out of line so callers stay small.</summary>
    [DoesNotReturn]
    [StackTraceHidden]
    public static void Throw(string reason) => throw new ProtocolViolationException(reason);

    /// <summary>Throws a <see cref="ProtocolViolationException"/> with the protocol's code for the answer.</summary>
    [DoesNotReturn]
    [StackTraceHidden]
    public static void Throw(string reason, int code) => throw new ProtocolViolationException(reason, code);
}
