using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Text;
using Wire.Ssh.Keys;
using Wire.Ssh.Protocol;
using Wire.Ssh.Transport;

namespace Wire.Fuzz.Targets;

/// <summary>
/// What an SSH client sends before the first key exchange completes, fed to Wire's server-role transport: the
/// identification string and the clear packets (KEXINIT, KEX_ECDH_INIT, IGNORE, ...). Input that ends cleanly is
/// accepted; a protocol error is a rejection; any other exception is a finding.
/// </summary>
public sealed class SshTransportFuzzTarget : IFuzzTarget
{
    private static readonly Lazy<SshPrivateKey> HostKey = new(() => SshPrivateKey.FromEd25519Seed(new byte[32]));

    public string Name => "ssh-transport";

    public void Run(ReadOnlySpan<byte> input)
    {
        var toServer = new Pipe();
        var fromServer = new Pipe();
        var transport = new SshTransport(new Duplex(toServer.Reader, fromServer.Writer), new SshTransportOptions { HostKeys = [HostKey.Value] }, isServer: true);
        toServer.Writer.Write(input);
        toServer.Writer.Complete();
        try
        {
            transport.HandshakeAsync(CancellationToken.None).GetAwaiter().GetResult();
            throw new FuzzInvariantException("a handshake completed without the client's keys");
        }
        catch (SshProtocolException e)
        {
            throw new ProtocolViolationException(e.Message);
        }
        catch (SshDisconnectedException e) when (e.Reason is null)
        {
            // The input ran out: accepted as far as it went.
        }
        catch (SshDisconnectedException e)
        {
            // The client sent DISCONNECT.
            throw new ProtocolViolationException(e.Message);
        }
        finally
        {
            transport.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;

        public PipeWriter Output => output;
    }
}

/// <summary>
/// Key material as Wire reads it from config and from peers: the input as a public key blob, a certificate blob, an
/// OpenSSH private key file, a known_hosts file and an authorized_keys line. FormatException is the rejection.
/// </summary>
public sealed class SshKeysFuzzTarget : IFuzzTarget
{
    public string Name => "ssh-keys";

    public void Run(ReadOnlySpan<byte> input)
    {
        string text = Encoding.UTF8.GetString(input);
        byte[] bytes = input.ToArray();
        int rejected = 0;
        rejected += Rejects(() => SshPublicKey.Parse(bytes));
        rejected += Rejects(() => SshCertificate.Parse(bytes));
        rejected += Rejects(() => OpenSshKeyFile.Parse(text));
        rejected += Rejects(() => SshAuthorizedKey.Parse(text));
        var hosts = SshKnownHosts.Parse(text);
        if (hosts.SkippedLines < 0)
        {
            throw new FuzzInvariantException("a negative count of skipped lines");
        }
        if (rejected == 4)
        {
            throw new ProtocolViolationException("no reader accepts the input");
        }
    }

    private static int Rejects(Action read)
    {
        try
        {
            read();
            return 0;
        }
        catch (FormatException)
        {
            return 1;
        }
    }
}

/// <summary>Seeds for the SSH targets.</summary>
public static class SshSeeds
{
    private static byte[] Packet(ReadOnlySpan<byte> payload)
    {
        int padding = 8 - (5 + payload.Length) % 8;
        if (padding < 4)
        {
            padding += 8;
        }
        var packet = new byte[5 + payload.Length + padding];
        BinaryPrimitives.WriteUInt32BigEndian(packet, (uint)(packet.Length - 4));
        packet[4] = (byte)padding;
        payload.CopyTo(packet.AsSpan(5));
        return packet;
    }

    public static IReadOnlyList<byte[]> Transport { get; } = Build();

    private static List<byte[]> Build()
    {
        byte[] ident = "SSH-2.0-OpenSSH_9.2\r\n"u8.ToArray();
        byte[] kexInit = SshKexInit.Create([SshAlgorithms.Curve25519, SshAlgorithms.StrictClient], ["ssh-ed25519"], SshAlgorithms.Ciphers, SshAlgorithms.Macs).Payload;
        byte[] ecdhInit = new byte[1 + 4 + 32];
        ecdhInit[0] = SshMessage.KexEcdhInit;
        BinaryPrimitives.WriteUInt32BigEndian(ecdhInit.AsSpan(1), 32);
        ecdhInit[10] = 9; // a point the agreement accepts or refuses: either is fine
        return
        [
            ident,
            [.. ident, .. Packet(kexInit)],
            [.. ident, .. Packet(kexInit), .. Packet(ecdhInit)],
            [.. ident, .. Packet([SshMessage.Ignore, 0, 0, 0, 0]), .. Packet(kexInit)],
            [.. ident, 0x7f, 0xff, 0xff, 0xff, 0],
            [.. "SSH-1.5-Old\r\n"u8],
            [.. "GET / HTTP/1.1\r\n\r\n"u8],
        ];
    }

    public static IReadOnlyList<byte[]> Keys { get; } = BuildKeys();

    private static List<byte[]> BuildKeys()
    {
        using var key = SshPrivateKey.FromEd25519Seed(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        return
        [
            key.PublicKey.Blob.ToArray(),
            Encoding.UTF8.GetBytes(key.PublicKey.ToOpenSshString("alice@laptop")),
            Encoding.UTF8.GetBytes("from=\"10.0.0.0/8\",no-pty " + key.PublicKey.ToOpenSshString()),
            Encoding.UTF8.GetBytes("[127.0.0.1]:2222 " + key.PublicKey.ToOpenSshString() + "\n@revoked * " + key.PublicKey.ToOpenSshString() + "\n"),
            Encoding.UTF8.GetBytes(OpenSshKeyFile.Write(key, "seed")),
            "not a key"u8.ToArray(),
        ];
    }
}
