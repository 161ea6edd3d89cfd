using Wire.Enforcement.Transport;

namespace Wire.Fuzz.Targets;

/// <summary>
/// A connection's first bytes on a listener with <c>proxyProtocol: true</c>, read by <c>ProxyProtocol.TryParse</c>
/// (versions 1 and 2). It never throws; a complete header lies within the input and within the protocol's bounds, every
/// shorter prefix of it asks for more bytes (so a peek that returned less can never complete early), and the bytes after
/// it do not change what it says. An invalid header is a protocol violation, as on the listener.
/// </summary>
public sealed class ProxyHeaderFuzzTarget : IFuzzTarget
{
    public string Name => "proxy-header";

    public void Run(ReadOnlySpan<byte> input)
    {
        var status = ProxyProtocol.TryParse(input, out int length, out var client, out var error);
        switch (status)
        {
            case ProxyProtocol.ParseStatus.Invalid when string.IsNullOrEmpty(error):
                throw new FuzzInvariantException("an invalid header without a reason");
            case ProxyProtocol.ParseStatus.Invalid:
                throw new ProtocolViolationException(error!); // what the listener does with it: the connection is refused
            case ProxyProtocol.ParseStatus.Complete:
                if (length <= 0 || length > input.Length || length > ProxyProtocol.MaxV2Bytes)
                {
                    throw new FuzzInvariantException($"a header of {length} bytes in {input.Length}");
                }
                for (int n = 0; n < length; n++)
                {
                    if (ProxyProtocol.TryParse(input[..n], out _, out _, out _) == ProxyProtocol.ParseStatus.Complete)
                    {
                        throw new FuzzInvariantException($"a {n}-byte prefix of a {length}-byte header completed");
                    }
                }
                if (ProxyProtocol.TryParse(input[..length], out int again, out var same, out _) != ProxyProtocol.ParseStatus.Complete
                    || again != length || !Equals(same, client))
                {
                    throw new FuzzInvariantException("the header alone says something else than with the bytes after it");
                }
                break;
            case ProxyProtocol.ParseStatus.NeedMore when input.Length >= ProxyProtocol.MaxV2Bytes:
                throw new FuzzInvariantException("asked for more after the longest header");
        }
    }
}
