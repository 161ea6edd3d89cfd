using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using Wire.Enforcement.Transport;
using Wire.Ssh.Authentication;
using Wire.Ssh.Keys;
using Wire.Ssh.Protocol;
using Wire.Ssh.Transport;

namespace Wire.Ssh.Tests.Security;

/// <summary>
/// An SSH client (Wire's own transport in the client role) that keeps the decrypted payload of every packet the server
/// sends it, whoever consumes the packet (the transport itself for IGNORE, DEBUG and DISCONNECT; user authentication for
/// banners and failures; this class for the connection protocol). With a <see cref="Wire.Testing.TcpTap"/> in front, which
/// holds the packets sent in the clear before the first NEWKEYS, that is every byte Wire sends the client, readable.
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

    private readonly WirePipe _pipe;
    private readonly SshTransport _transport;
    private readonly Capture _capture;
    private readonly CancellationTokenSource _cts = new(TimeSpan.FromSeconds(60));
    private uint _nextChannel;

    private SshPlaintextClient(WirePipe pipe, SshTransport transport, Capture capture)
    {
        _pipe = pipe;
        _transport = transport;
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
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port);
        var pipe = WirePipes.FromSocket(socket, "ssh-test-plaintext-client");
        var transport = new SshTransport(pipe.Pipe, new SshTransportOptions { VerifyHostKey = _ => true }, isServer: false);
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await transport.HandshakeAsync(cts.Token);
            Assert.True(transport.StrictKeyExchange, "strict key exchange was not agreed: the capture could not prove itself complete");
            Assert.Equal(0u, (uint)ReceiveSequence.GetValue(transport)!);
            var current = (SshPacketProtection)Incoming.GetValue(transport)!;
            Assert.IsNotType<SshPacketProtection.None>(current);
            var capture = new Capture(current);
            Incoming.SetValue(transport, capture);
            return new SshPlaintextClient(pipe, transport, capture);
        }
        catch
        {
            await transport.DisposeAsync();
            pipe.Dispose();
            throw;
        }
    }

    /// <summary>Logs in; false when Wire refuses.</summary>
    public async Task<bool> LoginAsync(string user, SshPrivateKey? key, string? password)
    {
        try
        {
            await SshUserAuthClient.AuthenticateAsync(_transport, user, key, password, _cts.Token);
            return true;
        }
        catch (SshAuthenticationException)
        {
            return false;
        }
    }

    /// <summary>
    /// Opens a session channel and runs <paramref name="command"/> (an exec), or a shell with a pty when
    /// <paramref name="command"/> is null, writing <paramref name="input"/> to it; returns when the channel closes.
    /// </summary>
    public async Task<Result> RunAsync(string? command, string? input = null, string target = "session")
    {
        var result = new Result();
        uint local = _nextChannel++;
        uint remote = 0;
        using (var open = new SshWriter())
        {
            await _transport.SendAsync(open.Byte(SshMessage.ChannelOpen).String(target).UInt32(local).UInt32(1 << 20).UInt32(32 * 1024).ToArray(), _cts.Token);
        }
        while (true)
        {
            var message = await ReceiveAsync();
            var reader = new SshReader(message.AsSpan(1));
            if (message[0] == SshMessage.ChannelOpenConfirmation && reader.ReadUInt32() == local)
            {
                remote = reader.ReadUInt32();
                break;
            }
            if (message[0] == SshMessage.ChannelOpenFailure && reader.ReadUInt32() == local)
            {
                result.OpenFailure = reader.ReadUInt32();
                result.Errors.Append(reader.ReadUtf8());
                return result;
            }
        }
        if (command is null)
        {
            await RequestAsync(remote, "pty-req", w => w.String("xterm").UInt32(80).UInt32(24).UInt32(0).UInt32(0).String([0]));
            await RequestAsync(remote, "shell", _ => { });
        }
        else
        {
            await RequestAsync(remote, "exec", w => w.String(command));
        }
        if (input is not null)
        {
            await _transport.SendChannelDataAsync(remote, null, Encoding.UTF8.GetBytes(input), _cts.Token);
        }
        if (command is not null)
        {
            using var eof = new SshWriter(16);
            await _transport.SendAsync(eof.Byte(SshMessage.ChannelEof).UInt32(remote).ToArray(), _cts.Token);
        }
        while (true)
        {
            var message = await ReceiveAsync();
            if (message[0] is < SshMessage.ChannelWindowAdjust or > SshMessage.ChannelFailure)
            {
                continue;
            }
            var reader = new SshReader(message.AsSpan(1));
            if (reader.ReadUInt32() != local)
            {
                continue;
            }
            switch (message[0])
            {
                case SshMessage.ChannelData:
                    result.Output.Append(Encoding.UTF8.GetString(reader.ReadString()));
                    break;
                case SshMessage.ChannelExtendedData:
                    reader.ReadUInt32();
                    result.Errors.Append(Encoding.UTF8.GetString(reader.ReadString()));
                    break;
                case SshMessage.ChannelRequest:
                {
                    string request = reader.ReadAscii();
                    bool wantReply = reader.ReadBoolean();
                    if (request == "exit-status")
                    {
                        result.ExitStatus = reader.ReadUInt32();
                    }
                    if (wantReply)
                    {
                        using var failure = new SshWriter(16);
                        await _transport.SendAsync(failure.Byte(SshMessage.ChannelFailure).UInt32(remote).ToArray(), _cts.Token);
                    }
                    break;
                }
                case SshMessage.ChannelClose:
                    using (var close = new SshWriter(16))
                    {
                        await _transport.SendAsync(close.Byte(SshMessage.ChannelClose).UInt32(remote).ToArray(), _cts.Token);
                    }
                    return result;
            }
        }
    }

    /// <summary>Sends a channel request with want-reply and waits for its answer (data before it is not expected).</summary>
    private async Task RequestAsync(uint remote, string request, Action<SshWriter> body)
    {
        using (var writer = new SshWriter())
        {
            writer.Byte(SshMessage.ChannelRequest).UInt32(remote).String(request).Boolean(true);
            body(writer);
            await _transport.SendAsync(writer.ToArray(), _cts.Token);
        }
        while (true)
        {
            var message = await ReceiveAsync();
            if (message[0] is SshMessage.ChannelSuccess or SshMessage.ChannelFailure)
            {
                return;
            }
        }
    }

    /// <summary>The next connection-layer message; global requests that want a reply get REQUEST_FAILURE.</summary>
    private async Task<byte[]> ReceiveAsync()
    {
        while (true)
        {
            byte[] message = (await _transport.ReceiveAsync(_cts.Token)).ToArray();
            if (message[0] != SshMessage.GlobalRequest)
            {
                return message;
            }
            var reader = new SshReader(message.AsSpan(1));
            reader.ReadAscii();
            if (reader.ReadBoolean())
            {
                await _transport.SendAsync(new[] { SshMessage.RequestFailure }, _cts.Token);
            }
        }
    }

    /// <summary>Fails unless every packet received since the first NEWKEYS was captured (no re-key replaced the capture).</summary>
    public void AssertCaptureComplete()
    {
        Assert.Same(_capture, Incoming.GetValue(_transport));
        uint received = (uint)ReceiveSequence.GetValue(_transport)!;
        lock (_capture.Payloads)
        {
            Assert.Equal(Enumerable.Range(0, (int)received).Select(i => (uint)i), _capture.Sequences);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _transport.TryDisconnectAsync(SshDisconnectReason.ByApplication, "test done");
        await _pipe.Pipe.Output.CompleteAsync();
        await _transport.DisposeAsync();
        _pipe.Dispose();
        _cts.Dispose();
    }

    private static FieldInfo Field(string name) =>
        typeof(SshTransport).GetField(name, BindingFlags.Instance | BindingFlags.NonPublic)
        ?? throw new InvalidOperationException($"SshTransport.{name} is gone: update the capture in {nameof(SshPlaintextClient)}");

    /// <summary>What a channel gave back.</summary>
    internal sealed class Result
    {
        public StringBuilder Output { get; } = new();

        public StringBuilder Errors { get; } = new();

        public uint? ExitStatus { get; set; }

        public uint? OpenFailure { get; set; }
    }

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
