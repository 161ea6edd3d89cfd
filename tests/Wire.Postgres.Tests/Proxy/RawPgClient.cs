using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Wire.Postgres.Tests.Proxy;

/// <summary>One backend message as read off the wire.</summary>
internal sealed record PgMessage(byte Type, byte[] Body)
{
    public char Tag => (char)Type;

    /// <summary>The first Int32 of the body (e.g. the authentication code of 'R').</summary>
    public int Int32At(int offset) => BinaryPrimitives.ReadInt32BigEndian(Body.AsSpan(offset));

    /// <summary>The fields of an ErrorResponse/NoticeResponse, keyed by their code.</summary>
    public Dictionary<char, string> Fields()
    {
        var fields = new Dictionary<char, string>();
        var span = Body.AsSpan();
        while (span.Length > 0 && span[0] != 0)
        {
            var code = (char)span[0];
            span = span[1..];
            var end = span.IndexOf((byte)0);
            if (end < 0)
            {
                break;
            }

            fields[code] = Encoding.UTF8.GetString(span[..end]);
            span = span[(end + 1)..];
        }

        return fields;
    }

    public override string ToString() => Type == (byte)'E' || Type == (byte)'N'
        ? $"{Tag} {string.Join(' ', Fields().Select(f => $"{f.Key}={f.Value}"))}"
        : $"{Tag} ({Body.Length} bytes)";
}

/// <summary>A hand-driven PostgreSQL frontend over a raw TCP socket, for malformed-input and protocol tests.</summary>
internal sealed class RawPgClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;

    private RawPgClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public Socket Socket => _tcp.Client;

    public static async Task<RawPgClient> ConnectAsync(int port)
    {
        var tcp = new TcpClient { NoDelay = true };
        using var cts = new CancellationTokenSource(DefaultTimeout);
        await tcp.ConnectAsync(IPAddress.Loopback, port, cts.Token);
        return new RawPgClient(tcp);
    }

    /// <summary>A StartupMessage (untagged) with the given protocol version code.</summary>
    public static byte[] Startup(IEnumerable<KeyValuePair<string, string>> parameters, int version = 0x00030000)
    {
        var body = new MemoryStream();
        foreach (var (name, value) in parameters)
        {
            WriteCString(body, name);
            WriteCString(body, value);
        }

        body.WriteByte(0);
        var packet = new byte[8 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(packet, packet.Length);
        BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(4), version);
        body.ToArray().CopyTo(packet, 8);
        return packet;
    }

    /// <summary>The standard startup parameters for alice on target app.</summary>
    public static KeyValuePair<string, string>[] StartupParameters(string user = WireProxyHarness.Subject, string database = WireProxyHarness.TargetName, params KeyValuePair<string, string>[] extra)
        => [new("user", user), new("database", database), .. extra];

    /// <summary>SSLRequest (8 bytes).</summary>
    public static byte[] SslRequest()
    {
        var packet = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(packet, 8);
        BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(4), 80877103);
        return packet;
    }

    /// <summary>A tagged message with a correct length.</summary>
    public static byte[] Message(char type, ReadOnlySpan<byte> body)
    {
        var frame = new byte[5 + body.Length];
        frame[0] = (byte)type;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), 4 + body.Length);
        body.CopyTo(frame.AsSpan(5));
        return frame;
    }

    public static byte[] Password(string token) => Message('p', CString(token));

    public static byte[] Query(string sql) => Message('Q', CString(sql));

    public static byte[] Terminate() => Message('X', []);

    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        using var cts = new CancellationTokenSource(DefaultTimeout);
        await _stream.WriteAsync(bytes, cts.Token);
        await _stream.FlushAsync(cts.Token);
    }

    /// <summary>Reads one byte (the answer to SSLRequest); -1 at end of stream.</summary>
    public async Task<int> ReadByteAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var one = new byte[1];
        var n = await _stream.ReadAsync(one, cts.Token);
        return n == 0 ? -1 : one[0];
    }

    /// <summary>Reads one tagged message; null when the peer closed cleanly at a message boundary.</summary>
    /// <exception cref="TimeoutException">Nothing complete arrived in time.</exception>
    public async Task<PgMessage?> ReadMessageAsync(TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        using var cts = new CancellationTokenSource(limit);
        try
        {
            var header = new byte[5];
            var got = await _stream.ReadAtLeastAsync(header, 5, throwOnEndOfStream: false, cts.Token);
            if (got == 0)
            {
                return null;
            }

            if (got < 5)
            {
                throw new EndOfStreamException($"the connection closed inside a message header ({got} bytes)");
            }

            var length = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1));
            if (length < 4 || length > 64 << 20)
            {
                throw new InvalidDataException($"implausible length {length} for message '{(char)header[0]}'");
            }

            var body = new byte[length - 4];
            await _stream.ReadExactlyAsync(body, cts.Token);
            return new PgMessage(header[0], body);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no complete message within {limit.TotalSeconds:0.#} s");
        }
    }

    /// <summary>Reads messages up to and including the first of type <paramref name="type"/>.</summary>
    public async Task<List<PgMessage>> ReadUntilAsync(char type, TimeSpan? timeout = null)
    {
        var messages = new List<PgMessage>();
        while (true)
        {
            var message = await ReadMessageAsync(timeout)
                ?? throw new EndOfStreamException($"the connection closed before '{type}'; got: {string.Join(", ", messages)}");
            messages.Add(message);
            if (message.Type == (byte)type)
            {
                return messages;
            }
        }
    }

    /// <summary>Startup + password; returns every message up to ReadyForQuery.</summary>
    public async Task<List<PgMessage>> LoginAsync(
        string token = WireProxyHarness.Token, params KeyValuePair<string, string>[] extraParameters)
    {
        await SendAsync(Startup(StartupParameters(extra: extraParameters)));
        var auth = await ReadMessageAsync() ?? throw new EndOfStreamException("closed before authentication request");
        if (auth.Type != (byte)'R' || auth.Int32At(0) != 3)
        {
            throw new InvalidOperationException($"expected AuthenticationCleartextPassword, got {auth}");
        }

        await SendAsync(Password(token));
        var messages = await ReadUntilAsync('Z');
        if (messages.FirstOrDefault(m => m.Type == (byte)'E') is { } error)
        {
            throw new InvalidOperationException($"login failed: {error}");
        }

        return messages;
    }

    /// <summary>
    /// Reads and discards until the peer closes (end of stream or reset). Returns the messages read, or
    /// throws <see cref="TimeoutException"/> if the connection is still open after <paramref name="timeout"/>.
    /// </summary>
    public async Task<List<PgMessage>> ReadUntilClosedAsync(TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + limit;
        var messages = new List<PgMessage>();
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"the connection was still open after {limit.TotalSeconds:0.#} s; got: {string.Join(", ", messages)}");
            }

            try
            {
                var message = await ReadMessageAsync(left);
                if (message is null)
                {
                    return messages;
                }

                messages.Add(message);
            }
            catch (IOException)
            {
                // A reset, or a close inside a message: closed as well.
                return messages;
            }
        }
    }

    /// <summary>Closes with a TCP reset (SO_LINGER 0), as a crashed client would.</summary>
    public void Abort()
    {
        try
        {
            _tcp.Client.LingerState = new LingerOption(true, 0);
            _tcp.Client.Close();
        }
        catch (ObjectDisposedException)
        {
        }
        catch (SocketException)
        {
        }
    }

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }

    public static byte[] CString(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var result = new byte[bytes.Length + 1];
        bytes.CopyTo(result, 0);
        return result;
    }

    private static void WriteCString(Stream stream, string text)
    {
        stream.Write(Encoding.UTF8.GetBytes(text));
        stream.WriteByte(0);
    }
}
