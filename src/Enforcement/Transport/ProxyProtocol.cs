using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Wire.Enforcement.Transport;

/// <summary>
/// The PROXY protocol header (HAProxy's, versions 1 and 2) a TCP load balancer puts before a connection's first byte to
/// say whom it accepted the connection from. Read once per connection, before anything else; a connection whose header is
/// missing or malformed is refused (a listener that expects it must never take the client's first bytes as a header, nor a
/// header as the client's bytes).
/// </summary>
internal static class ProxyProtocol
{
    /// <summary>The longest version 1 header, CRLF included.</summary>
    public const int MaxV1Bytes = 107;

    /// <summary>The longest version 2 header Wire accepts (16 fixed bytes and the addresses with their TLVs).</summary>
    public const int MaxV2Bytes = 16 + 512;

    private static ReadOnlySpan<byte> V2Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    private static ReadOnlySpan<byte> V1Prefix => "PROXY "u8;

    /// <summary>What the bytes read so far say.</summary>
    public enum ParseStatus
    {
        /// <summary>A whole header: its length and the client it names.</summary>
        Complete,

        /// <summary>A valid start; more bytes are needed.</summary>
        NeedMore,

        /// <summary>Not a PROXY header, or a malformed one.</summary>
        Invalid,
    }

    /// <summary>
    /// Parses the header at the start of <paramref name="buffer"/>. On <see cref="ParseStatus.Complete"/>,
    /// <paramref name="length"/> is the header's size and <paramref name="client"/> the source it declares (null for a
    /// version 2 LOCAL command or a version 1 UNKNOWN: a health check of the balancer's own, the socket's peer stands).
    /// </summary>
    /// <param name="buffer">The connection's first bytes.</param>
    /// <param name="length">The header's size in bytes.</param>
    /// <param name="client">The client the balancer accepted the connection from.</param>
    /// <param name="error">Why the header is invalid.</param>
    public static ParseStatus TryParse(ReadOnlySpan<byte> buffer, out int length, out IPEndPoint? client, out string? error)
    {
        length = 0;
        client = null;
        error = null;
        if (buffer.Length == 0)
        {
            return ParseStatus.NeedMore;
        }
        if (buffer[0] == V2Signature[0])
        {
            return ParseV2(buffer, out length, out client, out error);
        }
        return ParseV1(buffer, out length, out client, out error);
    }

    private static ParseStatus ParseV1(ReadOnlySpan<byte> buffer, out int length, out IPEndPoint? client, out string? error)
    {
        length = 0;
        client = null;
        error = null;
        int prefix = Math.Min(buffer.Length, V1Prefix.Length);
        if (!buffer[..prefix].SequenceEqual(V1Prefix[..prefix]))
        {
            error = "no PROXY protocol header";
            return ParseStatus.Invalid;
        }
        int lf = buffer[..Math.Min(buffer.Length, MaxV1Bytes)].IndexOf((byte)'\n');
        if (lf < 0)
        {
            if (buffer.Length >= MaxV1Bytes)
            {
                error = "PROXY v1 header longer than 107 bytes";
                return ParseStatus.Invalid;
            }
            return ParseStatus.NeedMore;
        }
        if (lf == 0 || buffer[lf - 1] != '\r')
        {
            error = "PROXY v1 header does not end with CRLF";
            return ParseStatus.Invalid;
        }
        var line = Encoding.ASCII.GetString(buffer[V1Prefix.Length..(lf - 1)]);
        length = lf + 1;
        var fields = line.Split(' ');
        if (fields[0] == "UNKNOWN")
        {
            return ParseStatus.Complete;
        }
        if (fields.Length != 5 || fields[0] is not ("TCP4" or "TCP6")
            || !IPAddress.TryParse(fields[1], out var source) || !IPAddress.TryParse(fields[2], out _)
            || !TryParsePort(fields[3], out int sourcePort) || !TryParsePort(fields[4], out _)
            || source.AddressFamily != (fields[0] == "TCP4" ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6))
        {
            error = "malformed PROXY v1 header";
            return ParseStatus.Invalid;
        }
        client = new IPEndPoint(source, sourcePort);
        return ParseStatus.Complete;
    }

    private static bool TryParsePort(string text, out int port) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port)
        && port <= 65535 && (text.Length == 1 || text[0] != '0');

    private static ParseStatus ParseV2(ReadOnlySpan<byte> buffer, out int length, out IPEndPoint? client, out string? error)
    {
        length = 0;
        client = null;
        error = null;
        int signature = Math.Min(buffer.Length, V2Signature.Length);
        if (!buffer[..signature].SequenceEqual(V2Signature[..signature]))
        {
            error = "no PROXY protocol header";
            return ParseStatus.Invalid;
        }
        if (buffer.Length < 16)
        {
            return ParseStatus.NeedMore;
        }
        byte versionCommand = buffer[12];
        if (versionCommand >> 4 != 2 || (versionCommand & 0xF) > 1)
        {
            error = "unsupported PROXY v2 version or command";
            return ParseStatus.Invalid;
        }
        int addressBytes = BinaryPrimitives.ReadUInt16BigEndian(buffer[14..]);
        if (16 + addressBytes > MaxV2Bytes)
        {
            error = "PROXY v2 header too long";
            return ParseStatus.Invalid;
        }
        if (buffer.Length < 16 + addressBytes)
        {
            return ParseStatus.NeedMore;
        }
        length = 16 + addressBytes;
        if ((versionCommand & 0xF) == 0)
        {
            return ParseStatus.Complete; // LOCAL: the balancer's own connection
        }
        var addresses = buffer.Slice(16, addressBytes);
        switch (buffer[13])
        {
            case 0x11 when addresses.Length >= 12: // TCP over IPv4
                client = new IPEndPoint(new IPAddress(addresses[..4]), BinaryPrimitives.ReadUInt16BigEndian(addresses[8..]));
                return ParseStatus.Complete;
            case 0x21 when addresses.Length >= 36: // TCP over IPv6
                client = new IPEndPoint(new IPAddress(addresses[..16]), BinaryPrimitives.ReadUInt16BigEndian(addresses[32..]));
                return ParseStatus.Complete;
            case 0x00: // UNSPEC
                return ParseStatus.Complete;
            default:
                error = "PROXY v2 header for an unsupported address family or transport";
                return ParseStatus.Invalid;
        }
    }

    /// <summary>
    /// Reads the header from <paramref name="socket"/> and consumes exactly its bytes (peeking first, so the client's own
    /// bytes stay in the socket). Returns the declared client, or the socket's peer for LOCAL/UNKNOWN.
    /// </summary>
    /// <param name="socket">A connection just accepted from the balancer.</param>
    /// <param name="timeout">How long the header may take to arrive.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="ProtocolViolationException">The header is missing or malformed, or the peer closed first.</exception>
    /// <exception cref="TimeoutException">The header did not arrive in time.</exception>
    public static async Task<IPEndPoint?> ReadAsync(Socket socket, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var buffer = new byte[MaxV2Bytes];
        int seen = 0;
        try
        {
            while (true)
            {
                int peeked = await socket.ReceiveAsync(buffer, SocketFlags.Peek, limit.Token).ConfigureAwait(false);
                if (peeked == 0)
                {
                    throw new ProtocolViolationException("the connection closed before its PROXY protocol header");
                }
                switch (TryParse(buffer.AsSpan(0, peeked), out int length, out var client, out var error))
                {
                    case ParseStatus.Complete:
                        await ConsumeAsync(socket, buffer, length, limit.Token).ConfigureAwait(false);
                        return client ?? socket.RemoteEndPoint as IPEndPoint;
                    case ParseStatus.Invalid:
                        throw new ProtocolViolationException(error!);
                }
                if (peeked == seen)
                {
                    // Nothing new yet: a peek returns at once while bytes wait, so pause before asking again.
                    await Task.Delay(10, limit.Token).ConfigureAwait(false);
                }
                seen = peeked;
            }
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no PROXY protocol header within {timeout}");
        }
    }

    private static async Task ConsumeAsync(Socket socket, byte[] buffer, int length, CancellationToken ct)
    {
        int read = 0;
        while (read < length)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(read, length - read), SocketFlags.None, ct).ConfigureAwait(false);
            if (n == 0)
            {
                throw new ProtocolViolationException("the connection closed inside its PROXY protocol header");
            }
            read += n;
        }
    }
}
