using System.Buffers;
using System.Buffers.Binary;
using Wire.Ssh.Keys;
using Wire.Ssh.Protocol;
using Wire.Ssh.Tests.Infrastructure;
using Wire.Ssh.Transport;

namespace Wire.Ssh.Tests.Transport;

/// <summary>Both roles of the transport against each other, in memory: every algorithm, re-exchanges, malformed input.</summary>
public sealed class SshTransportTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static (SshTransport Client, SshTransport Server) Pair(PipePair pipes, SshTransportOptions? client = null, SshTransportOptions? server = null,
        Func<SshPublicKey, bool>? verify = null)
    {
        var serverOptions = server ?? new SshTransportOptions { HostKeys = SshKeys.All };
        var clientOptions = client ?? new SshTransportOptions { VerifyHostKey = verify ?? (_ => true) };
        return (new SshTransport(pipes.A, clientOptions, isServer: false), new SshTransport(pipes.B, serverOptions, isServer: true));
    }

    private static async Task HandshakeAsync(SshTransport client, SshTransport server)
    {
        using var cts = new CancellationTokenSource(Timeout);
        await Task.WhenAll(client.HandshakeAsync(cts.Token), server.HandshakeAsync(cts.Token));
    }

    public static TheoryData<string, string, string, string> Algorithms()
    {
        var data = new TheoryData<string, string, string, string>();
        foreach (var kex in SshAlgorithms.KeyExchange)
        {
            foreach (var cipher in SshAlgorithms.Ciphers)
            {
                foreach (var mac in SshAlgorithms.IsAead(cipher) ? ["(implicit)"] : SshAlgorithms.Macs)
                {
                    foreach (var hostKey in SshAlgorithms.HostKeys)
                    {
                        data.Add(kex, cipher, mac, hostKey);
                    }
                }
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task Every_algorithm_combination_agrees_and_carries_messages_both_ways(string kex, string cipher, string mac, string hostKey)
    {
        var pipes = new PipePair();
        string[] macs = mac == "(implicit)" ? SshAlgorithms.Macs : [mac];
        var (client, server) = Pair(pipes, new SshTransportOptions
        {
            VerifyHostKey = _ => true, KeyExchange = [kex], Ciphers = [cipher], Macs = macs, HostKeyAlgorithms = [hostKey],
        });
        await HandshakeAsync(client, server);

        Assert.Equal(kex, client.Negotiated!.KeyExchange);
        Assert.Equal(cipher, server.Negotiated!.CipherClientToServer);
        Assert.Equal(hostKey, server.Negotiated.HostKey);
        Assert.Equal(client.SessionId, server.SessionId);
        Assert.True(client.StrictKeyExchange && server.StrictKeyExchange);
        await ExchangeAsync(client, server, 3);
    }

    [Theory]
    [InlineData(SshAlgorithms.Curve25519)]
    [InlineData(SshAlgorithms.EcdhP256)]
    public async Task Five_hundred_handshakes_per_method_all_agree(string kex)
    {
        // The shared secret is an mpint: a secret with a leading zero byte (1 in 256) or a high bit set (1 in 2) must be
        // encoded as the other side encodes it, or the keys differ and the first encrypted packet fails.
        for (int i = 0; i < 500; i++)
        {
            var pipes = new PipePair();
            var (client, server) = Pair(pipes, new SshTransportOptions { VerifyHostKey = _ => true, KeyExchange = [kex], HostKeyAlgorithms = ["ssh-ed25519"] },
                new SshTransportOptions { HostKeys = [SshKeys.Ed25519] });
            await HandshakeAsync(client, server);
            await ExchangeAsync(client, server, 1);
        }
    }

    [Fact]
    public async Task Either_side_can_start_a_re_exchange_while_messages_flow()
    {
        var pipes = new PipePair();
        var (client, server) = Pair(pipes);
        await HandshakeAsync(client, server);
        byte[] sessionId = client.SessionId;
        using var cts = new CancellationTokenSource(Timeout);

        // Readers run all along (a re-exchange needs both sides reading, also after the last message); messages go out
        // before, during and after the re-exchanges.
        using var readers = CancellationTokenSource.CreateLinkedTokenSource(cts.Token);
        var serverGot = new List<int>();
        var clientGot = new List<int>();
        var serverReading = ReadUntilCancelledAsync(server, serverGot, readers.Token);
        var clientReading = ReadUntilCancelledAsync(client, clientGot, readers.Token);
        for (int i = 0; i < 300; i++)
        {
            await client.SendAsync(Message(i), cts.Token);
            await server.SendAsync(Message(i), cts.Token);
            if (i == 50)
            {
                await client.RekeyAsync(cts.Token);
            }
            if (i == 150)
            {
                // The client's re-exchange must be over before the server can start its own.
                await WaitForAsync(() => client.KeyExchangeCount == 2 && server.KeyExchangeCount == 2, cts.Token,
                    () => $"client {client.KeyExchangeCount}, server {server.KeyExchangeCount}");
                await server.RekeyAsync(cts.Token);
            }
        }
        await WaitForAsync(() => client.KeyExchangeCount == 3 && server.KeyExchangeCount == 3 && Count(serverGot) == 300 && Count(clientGot) == 300,
            cts.Token, () => $"client {client.KeyExchangeCount} ({Count(clientGot)} messages), server {server.KeyExchangeCount} ({Count(serverGot)})");
        readers.Cancel();
        await Task.WhenAll(serverReading, clientReading);
        Assert.Equal(Enumerable.Range(0, 300), serverGot);
        Assert.Equal(Enumerable.Range(0, 300), clientGot);
        Assert.Equal(sessionId, server.SessionId);
    }

    [Fact]
    public async Task A_byte_limit_starts_re_exchanges_by_itself()
    {
        var pipes = new PipePair();
        var (client, server) = Pair(pipes, new SshTransportOptions { VerifyHostKey = _ => true, RekeyBytes = 64 * 1024 });
        await HandshakeAsync(client, server);
        using var cts = new CancellationTokenSource(Timeout);
        // The client reads all along (it must, to take part in the exchanges it starts); the server answers each message.
        var clientGot = ReceiveAllAsync(client, 200, cts.Token);
        byte[] big = new byte[4000];
        big[0] = 94;
        for (int i = 0; i < 200; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(big.AsSpan(1), i);
            await client.SendAsync(big, cts.Token);
            var got = await server.ReceiveAsync(cts.Token);
            Assert.Equal(i, BinaryPrimitives.ReadInt32BigEndian(got.Span[1..]));
            await server.SendAsync(Message(i), cts.Token);
        }
        Assert.Equal(Enumerable.Range(0, 200), await clientGot);
        // 800 kB with a limit of 64 KiB: up to a dozen re-exchanges, none of them asked for. Fewer when messages queue behind
        // one in progress and then go out together, which depends on timing (a loaded machine has seen two): at least two besides the first.
        Assert.True(client.KeyExchangeCount >= 3, $"{client.KeyExchangeCount} key exchanges");
    }

    [Fact]
    public async Task A_peer_that_never_finishes_a_key_exchange_cannot_make_wire_buffer_without_end()
    {
        var pipes = new PipePair();
        var (client, server) = Pair(pipes, server: new SshTransportOptions { HostKeys = [SshKeys.Ed25519], MaxHeldBytes = 1 << 20 });
        await HandshakeAsync(client, server);
        using var cts = new CancellationTokenSource(Timeout);
        // The server starts a re-exchange; the client never reads again, so it never answers.
        await server.RekeyAsync(cts.Token);
        byte[] data = new byte[32 * 1024];
        var error = await Assert.ThrowsAsync<SshProtocolException>(async () =>
        {
            for (int i = 0; i < 100; i++)
            {
                await server.SendChannelDataAsync(0, null, data, cts.Token);
            }
        });
        Assert.Contains("did not finish a key exchange", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_host_key_the_client_does_not_trust_ends_the_handshake()
    {
        var pipes = new PipePair();
        var (client, server) = Pair(pipes, verify: _ => false);
        using var cts = new CancellationTokenSource(Timeout);
        var serverHandshake = server.HandshakeAsync(cts.Token);
        var clientError = await Assert.ThrowsAsync<SshProtocolException>(() => client.HandshakeAsync(cts.Token));
        Assert.Equal(SshDisconnectReason.HostKeyNotVerifiable, clientError.Reason);
        var serverError = await Assert.ThrowsAsync<SshDisconnectedException>(() => serverHandshake);
        Assert.Equal(SshDisconnectReason.HostKeyNotVerifiable, serverError.Reason);
    }

    [Fact]
    public async Task No_common_cipher_is_a_key_exchange_failure()
    {
        var pipes = new PipePair();
        var (client, server) = Pair(pipes, new SshTransportOptions { VerifyHostKey = _ => true, Ciphers = [SshAlgorithms.Aes128Ctr] },
            new SshTransportOptions { HostKeys = SshKeys.All, Ciphers = [SshAlgorithms.Aes256Gcm] });
        using var cts = new CancellationTokenSource(Timeout);
        var errors = await Task.WhenAll(Catch(client.HandshakeAsync(cts.Token)), Catch(server.HandshakeAsync(cts.Token)));
        Assert.All(errors, e => Assert.NotNull(e));
        Assert.Contains(errors, e => e is SshProtocolException { Reason: SshDisconnectReason.KeyExchangeFailed });
    }

    [Fact]
    public async Task A_flipped_ciphertext_bit_is_a_mac_error_and_a_disconnect()
    {
        foreach (var cipher in SshAlgorithms.Ciphers)
        {
            var pipes = new PipePair();
            var relay = new System.IO.Pipelines.Pipe();
            // The client writes into 'relay'; the test copies it to the server, flipping one bit after the handshake.
            var clientSide = new Duplex(pipes.A.Input, relay.Writer);
            var client = new SshTransport(clientSide, new SshTransportOptions { VerifyHostKey = _ => true, Ciphers = [cipher] }, isServer: false);
            var server = new SshTransport(pipes.B, new SshTransportOptions { HostKeys = SshKeys.All }, isServer: true);
            using var cts = new CancellationTokenSource(Timeout);
            bool tamper = false;
            var copy = Task.Run(async () =>
            {
                while (true)
                {
                    var read = await relay.Reader.ReadAsync(cts.Token);
                    var bytes = read.Buffer.ToArray();
                    if (tamper && bytes.Length > 10)
                    {
                        bytes[8] ^= 0x10;
                    }
                    await pipes.ToB.WriteAsync(bytes, cts.Token);
                    relay.Reader.AdvanceTo(read.Buffer.End);
                    if (read.IsCompleted)
                    {
                        return;
                    }
                }
            });
            await Task.WhenAll(client.HandshakeAsync(cts.Token), server.HandshakeAsync(cts.Token));
            tamper = true;
            await client.SendAsync(Message(1), cts.Token);
            var error = await Assert.ThrowsAsync<SshProtocolException>(async () => await server.ReceiveAsync(cts.Token));
            Assert.Equal(SshDisconnectReason.MacError, error.Reason);
            // The server told the client why.
            var told = await Assert.ThrowsAsync<SshDisconnectedException>(async () => await client.ReceiveAsync(cts.Token));
            Assert.Equal(SshDisconnectReason.MacError, told.Reason);
        }
    }

    [Theory]
    [InlineData(0x0004_0001u)] // one past 256 KiB
    [InlineData(0xffff_fff0u)]
    [InlineData(3u)]
    public async Task An_out_of_range_packet_length_is_refused_before_anything_is_buffered(uint length)
    {
        using var cts = new CancellationTokenSource(Timeout);
        var (pipes, server, handshake) = await StartRawServerAsync(cts.Token);
        byte[] head = new byte[16];
        BinaryPrimitives.WriteUInt32BigEndian(head, length);
        await pipes.A.Output.WriteAsync(head, cts.Token);
        var error = await Assert.ThrowsAsync<SshProtocolException>(() => handshake);
        Assert.Contains("packet length", error.Message, StringComparison.Ordinal);
        Assert.Equal("DISCONNECT", await ReadDisconnectAsync(pipes, cts.Token));
    }

    [Fact]
    public async Task Strict_key_exchange_refuses_a_message_before_kexinit()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var (pipes, server, handshake) = await StartRawServerAsync(cts.Token);
        // An IGNORE, then a KEXINIT announcing strict key exchange: the KEXINIT is not the first packet.
        await pipes.A.Output.WriteAsync(Plain([SshMessage.Ignore, 0, 0, 0, 0]), cts.Token);
        var kexInit = SshKexInit.Create([SshAlgorithms.Curve25519, SshAlgorithms.StrictClient], ["ssh-ed25519"], SshAlgorithms.Ciphers, SshAlgorithms.Macs);
        await pipes.A.Output.WriteAsync(Plain(kexInit.Payload), cts.Token);
        var error = await Assert.ThrowsAsync<SshProtocolException>(() => handshake);
        Assert.Contains("strict", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_strict_key_exchange_an_ignore_before_kexinit_is_fine()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var (pipes, server, handshake) = await StartRawServerAsync(cts.Token);
        await pipes.A.Output.WriteAsync(Plain([SshMessage.Ignore, 0, 0, 0, 0]), cts.Token);
        var kexInit = SshKexInit.Create([SshAlgorithms.Curve25519], ["ssh-ed25519"], SshAlgorithms.Ciphers, SshAlgorithms.Macs);
        await pipes.A.Output.WriteAsync(Plain(kexInit.Payload), cts.Token);
        // The server answers with its KEXINIT and waits for KEX_ECDH_INIT: no error so far.
        await Task.Delay(200);
        Assert.False(handshake.IsCompleted);
        await pipes.A.Output.CompleteAsync();
        await Assert.ThrowsAsync<SshDisconnectedException>(() => handshake);
        Assert.False(server.StrictKeyExchange);
    }

    [Theory]
    [InlineData("SSH-1.5-Old\r\n")]
    [InlineData("GET / HTTP/1.1\r\n")]
    [InlineData("SSH-2.0-\r\n")]
    public async Task A_bad_identification_string_is_refused(string line)
    {
        var pipes = new PipePair();
        var server = new SshTransport(pipes.B, new SshTransportOptions { HostKeys = [SshKeys.Ed25519] }, isServer: true);
        using var cts = new CancellationTokenSource(Timeout);
        var handshake = server.HandshakeAsync(cts.Token);
        await pipes.A.Output.WriteAsync(System.Text.Encoding.ASCII.GetBytes(line), cts.Token);
        await Assert.ThrowsAsync<SshProtocolException>(() => handshake);
    }

    [Fact]
    public async Task A_client_accepts_banner_lines_before_the_servers_identification()
    {
        var pipes = new PipePair();
        var client = new SshTransport(pipes.A, new SshTransportOptions { VerifyHostKey = _ => true }, isServer: false);
        var server = new SshTransport(new Duplex(pipes.B.Input, new PrefixWriter(pipes.B.Output, "Welcome\r\nno CR here\n")),
            new SshTransportOptions { HostKeys = SshKeys.All }, isServer: true);
        await HandshakeAsync(client, server);
        Assert.StartsWith("SSH-2.0-Wire", client.PeerVersion, StringComparison.Ordinal);
    }

    // ---- helpers ----

    private static byte[] Message(int i)
    {
        var payload = new byte[5];
        payload[0] = 94;
        BinaryPrimitives.WriteInt32BigEndian(payload.AsSpan(1), i);
        return payload;
    }

    private static async Task ExchangeAsync(SshTransport client, SshTransport server, int count)
    {
        using var cts = new CancellationTokenSource(Timeout);
        for (int i = 0; i < count; i++)
        {
            await client.SendAsync(Message(i), cts.Token);
            var got = await server.ReceiveAsync(cts.Token);
            Assert.Equal(Message(i), got.ToArray());
            await server.SendAsync(Message(i + 1000), cts.Token);
            got = await client.ReceiveAsync(cts.Token);
            Assert.Equal(Message(i + 1000), got.ToArray());
        }
    }

    private static async Task<List<int>> ReceiveAllAsync(SshTransport transport, int count, CancellationToken ct)
    {
        var got = new List<int>();
        try
        {
            while (true)
            {
                var payload = await transport.ReceiveAsync(ct);
                got.Add(BinaryPrimitives.ReadInt32BigEndian(payload.Span[1..]));
                if (got.Count == count)
                {
                    return got;
                }
            }
        }
        catch (OperationCanceledException) when (count == 0)
        {
            return got;
        }
    }

    private static async Task WaitForAsync(Func<bool> condition, CancellationToken ct, Func<string>? state = null)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "waited 10 s: " + state?.Invoke());
            await Task.Delay(5, ct);
        }
    }

    private static int Count(List<int> list)
    {
        lock (list)
        {
            return list.Count;
        }
    }

    private static async Task ReadUntilCancelledAsync(SshTransport transport, List<int> into, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                var payload = await transport.ReceiveAsync(ct);
                lock (into)
                {
                    into.Add(BinaryPrimitives.ReadInt32BigEndian(payload.Span[1..]));
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Done.
        }
    }

    private static async Task<Exception?> Catch(Task task)
    {
        try
        {
            await task;
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    /// <summary>A server-role transport whose client is the test itself, writing raw bytes after its identification string.</summary>
    private static async Task<(PipePair Pipes, SshTransport Server, Task Handshake)> StartRawServerAsync(CancellationToken ct)
    {
        var pipes = new PipePair();
        var server = new SshTransport(pipes.B, new SshTransportOptions { HostKeys = [SshKeys.Ed25519] }, isServer: true);
        var handshake = server.HandshakeAsync(ct);
        await pipes.A.Output.WriteAsync("SSH-2.0-Test_1.0\r\n"u8.ToArray(), ct);
        return (pipes, server, handshake);
    }

    /// <summary>A packet without cipher or MAC, as before the first NEWKEYS.</summary>
    private static byte[] Plain(ReadOnlySpan<byte> payload)
    {
        int padding = 8 - (4 + 1 + payload.Length) % 8;
        if (padding < 4)
        {
            padding += 8;
        }
        var packet = new byte[4 + 1 + payload.Length + padding];
        BinaryPrimitives.WriteUInt32BigEndian(packet, (uint)(packet.Length - 4));
        packet[4] = (byte)padding;
        payload.CopyTo(packet.AsSpan(5));
        return packet;
    }

    /// <summary>Reads the server's output until a DISCONNECT (sent in the clear before the first NEWKEYS).</summary>
    private static async Task<string> ReadDisconnectAsync(PipePair pipes, CancellationToken ct)
    {
        while (true)
        {
            var read = await pipes.A.Input.ReadAsync(ct);
            var bytes = read.Buffer.ToArray();
            pipes.A.Input.AdvanceTo(read.Buffer.End);
            int line = Array.IndexOf(bytes, (byte)'\n');
            for (int i = line + 1; i + 5 < bytes.Length;)
            {
                int length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(i));
                if (bytes[i + 5] == SshMessage.Disconnect)
                {
                    return "DISCONNECT";
                }
                i += 4 + length;
            }
            if (read.IsCompleted)
            {
                return "closed";
            }
        }
    }

    private sealed class Duplex(System.IO.Pipelines.PipeReader input, System.IO.Pipelines.PipeWriter output) : System.IO.Pipelines.IDuplexPipe
    {
        public System.IO.Pipelines.PipeReader Input => input;

        public System.IO.Pipelines.PipeWriter Output => output;
    }

    /// <summary>Writes some lines before the first bytes the server sends (a pre-identification banner).</summary>
    private sealed class PrefixWriter(System.IO.Pipelines.PipeWriter inner, string prefix) : System.IO.Pipelines.PipeWriter
    {
        private bool _written;

        public override void Advance(int bytes) => inner.Advance(bytes);

        public override Memory<byte> GetMemory(int sizeHint = 0)
        {
            WritePrefix();
            return inner.GetMemory(sizeHint);
        }

        public override Span<byte> GetSpan(int sizeHint = 0)
        {
            WritePrefix();
            return inner.GetSpan(sizeHint);
        }

        private void WritePrefix()
        {
            if (!_written)
            {
                _written = true;
                inner.Write(System.Text.Encoding.ASCII.GetBytes(prefix));
            }
        }

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask<System.IO.Pipelines.FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);
    }
}
