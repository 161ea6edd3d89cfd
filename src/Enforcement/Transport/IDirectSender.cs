using System.Buffers;

namespace Wire.Enforcement.Transport;

/// <summary>
/// A connection that can send bytes straight from a caller's buffer, so a relay forwards a frame
/// without copying it into an output pipe first.
/// </summary>
internal interface IDirectSender
{
    /// <summary>Sends what can be sent at once; returns the byte count. The rest must be queued by the caller.</summary>
    long TrySendDirect(in ReadOnlySequence<byte> data);
}
