using System.Buffers.Binary;
using System.Reflection;
using Wire.Ssh.Authentication;
using Wire.Ssh.Keys;
using Wire.Ssh.Tests.Infrastructure;
using Wire.Ssh.Transport;

namespace Wire.Ssh.Tests.Security;

/// <summary>
/// An SSH client (a <see cref="RawSshClient"/>: Wire's own transport in the client role) that keeps the decrypted payload
/// of every packet the server sends it, whoever consumes the packet (the transport itself for IGNORE, DEBUG and
/// DISCONNECT; user authentication for banners and failures; the client for the connection protocol). With a
/// <see cref="Wire.Testing.TcpTap"/> in front, which holds the packets sent in the clear before the first NEWKEYS, that is
/// every byte Wire sends the client, readable.
/// </summary>
/// <remarks>
/// The capture wraps the transport's incoming packet protection once the first key exchange is done (a private field,
/// reached by reflection: a test hook in the product would cost the hot path). With strict key exchange every
/// packet after NEWKEYS is numbered from 0, so <see cref="AssertCaptureComplete"/> can prove that no packet escaped:
/// the captured sequence numbers are 0..N-1 and the transport received exactly N.
/// </remarks>
internal sealed class SshPlaintextClient : IAsyncDisposable
{
    private static readonly FieldInfo Incoming = Field("_incoming");
    private static readonly FieldInfo ReceiveSequence = Field("_receiveSequence");

    private readonly RawSshClient _client;
    private readonly Capture _capture;

    private SshPlaintextClient(RawSshClient client, Capture capture)
    {
        _client = client;
        _capture = capture;
    }

    /// <summary>Every packet payload received after the first NEWKEYS, decrypted, in order.</summary>
    public IReadOnlyList<byte[]> Received
    {
        get
        {
            lock (_capture.Payloads)
            {
                return [.. _capture.Payloads];
            }
        }
    }

    /// <summary>Connects to 127.0.0.1:<paramref name="port"/> and completes the key exchange (any host key is accepted).</summary>
    public static async Task<SshPlaintextClient> ConnectAsync(int port)
    {
        var client = await RawSshClient.HandshakeAsync(port, _ => true);
        try
        {
            var transport = client.Transport;
            Assert.True(transport.StrictKeyExchange, "strict key exchange was not agreed: the capture could not prove itself complete");
            Assert.Equal(0u, (uint)ReceiveSequence.GetValue(transport)!);
            var current = (SshPacketProtection)Incoming.GetValue(transport)!;
            Assert.IsNotType<SshPacketProtection.None>(current);
            var capture = new Capture(current);
            Incoming.SetValue(transport, capture);
            return new SshPlaintextClient(client, capture);
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>Logs in; false when Wire refuses.</summary>
    public async Task<bool> LoginAsync(string user, SshPrivateKey? key, string? password)
    {
        try
        {
            await _client.AuthenticateAsync(user, key, password);
            return true;
        }
        catch (SshAuthenticationException)
        {
            return false;
        }
    }

    /// <summary>
    /// Opens a session channel and runs <paramref name="command"/> (an exec), or a shell with a pty when
    /// <paramref name="command"/> is null, writing <paramref name="input"/> to it; returns when the channel closes, or
    /// at once when its open failed (the reason in <see cref="RawSshClient.Channel.OpenFailure"/> and
    /// <see cref="RawSshClient.Channel.Errors"/>).
    /// </summary>
    public async Task<RawSshClient.Channel> RunAsync(string? command, string? input = null)
    {
        var channel = await _client.OpenAsync("session");
        if (!channel.Opened)
        {
            return channel;
        }
        if (command is null)
        {
            await _client.RequestAsync(channel, "pty-req", w => w.String("xterm").UInt32(80).UInt32(24).UInt32(0).UInt32(0).String([0]));
            await _client.RequestAsync(channel, "shell", _ => { });
        }
        else
        {
            await _client.RequestAsync(channel, "exec", w => w.String(command));
        }
        if (input is not null)
        {
            await _client.SendDataAsync(channel, input);
        }
        if (command is not null)
        {
            await _client.SendEofAsync(channel);
        }
        await _client.WaitAsync(channel, c => c.Closed, "the channel's close");
        return channel;
    }

    /// <summary>Fails unless every packet received since the first NEWKEYS was captured (no re-key replaced the capture).</summary>
    public void AssertCaptureComplete()
    {
        Assert.Same(_capture, Incoming.GetValue(_client.Transport));
        uint received = (uint)ReceiveSequence.GetValue(_client.Transport)!;
        lock (_capture.Payloads)
        {
            Assert.Equal(Enumerable.Range(0, (int)received).Select(i => (uint)i), _capture.Sequences);
        }
    }

    public ValueTask DisposeAsync() => _client.DisposeAsync();

    private static FieldInfo Field(string name) =>
        typeof(SshTransport).GetField(name, BindingFlags.Instance | BindingFlags.NonPublic)
        ?? throw new InvalidOperationException($"SshTransport.{name} is gone: update the capture in {nameof(SshPlaintextClient)}");

    /// <summary>The incoming protection, decorated: each packet it opens is kept (its payload) with its sequence number.</summary>
    private sealed class Capture(SshPacketProtection inner) : SshPacketProtection
    {
        public List<byte[]> Payloads { get; } = [];

        public List<uint> Sequences { get; } = [];

        public override int BlockSize => inner.BlockSize;

        public override int MacLength => inner.MacLength;

        public override bool AlignsLengthField => inner.AlignsLengthField;

        public override bool Open(Span<byte> packet, uint sequence)
        {
            if (!inner.Open(packet, sequence))
            {
                return false;
            }
            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(packet);
            int padding = packet[4];
            lock (Payloads)
            {
                Payloads.Add(packet.Slice(5, Math.Max(0, length - padding - 1)).ToArray());
                Sequences.Add(sequence);
            }
            return true;
        }

        public override void Seal(Span<byte> packet, uint sequence) => inner.Seal(packet, sequence);

        public override void Dispose() => inner.Dispose();
    }
}
