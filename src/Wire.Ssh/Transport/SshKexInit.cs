using System.Security.Cryptography;
using Wire.Ssh.Protocol;

namespace Wire.Ssh.Transport;

/// <summary>An SSH_MSG_KEXINIT (RFC 4253 §7.1): the payload exactly as sent (it is hashed into H) and its name-lists.</summary>
internal sealed class SshKexInit
{
    private SshKexInit(byte[] payload, string[][] lists, bool firstKexPacketFollows)
    {
        Payload = payload;
        Lists = lists;
        FirstKexPacketFollows = firstKexPacketFollows;
    }

    /// <summary>The message, type byte included.</summary>
    public byte[] Payload { get; }

    // kex, host key, cipher c->s, cipher s->c, mac c->s, mac s->c, compression c->s, s->c, languages c->s, s->c
    private string[][] Lists { get; }

    public string[] KeyExchange => Lists[0];
    public string[] HostKey => Lists[1];
    public string[] CipherClientToServer => Lists[2];
    public string[] CipherServerToClient => Lists[3];
    public string[] MacClientToServer => Lists[4];
    public string[] MacServerToClient => Lists[5];
    public string[] CompressionClientToServer => Lists[6];
    public string[] CompressionServerToClient => Lists[7];

    public bool FirstKexPacketFollows { get; }

    public static SshKexInit Create(string[] keyExchange, string[] hostKeys, string[] ciphers, string[] macs)
    {
        using var writer = new SshWriter(512);
        writer.Byte(SshMessage.KexInit);
        RandomNumberGenerator.Fill(writer.Reserve(16));
        string[][] lists = [keyExchange, hostKeys, ciphers, ciphers, macs, macs, SshAlgorithms.Compression, SshAlgorithms.Compression, [], []];
        foreach (var list in lists)
        {
            writer.NameList(list);
        }
        writer.Boolean(false).UInt32(0);
        return new SshKexInit(writer.ToArray(), lists, false);
    }

    public static SshKexInit Parse(ReadOnlySpan<byte> payload)
    {
        var reader = new SshReader(payload);
        if (reader.ReadByte() != SshMessage.KexInit)
        {
            SshProtocolException.Throw("expected SSH_MSG_KEXINIT");
        }
        for (int i = 0; i < 16; i++)
        {
            reader.ReadByte();
        }
        var lists = new string[10][];
        for (int i = 0; i < lists.Length; i++)
        {
            lists[i] = reader.ReadNameList();
        }
        bool follows = reader.ReadBoolean();
        reader.ReadUInt32(); // reserved
        return new SshKexInit(payload.ToArray(), lists, follows);
    }
}

/// <summary>What a key exchange settled on (RFC 4253 §7.1: the client's first choice the server also lists).</summary>
internal sealed record SshNegotiated(
    string KeyExchange, string HostKey, string CipherClientToServer, string CipherServerToClient, string MacClientToServer, string MacServerToClient)
{
    public static SshNegotiated Choose(SshKexInit client, SshKexInit server)
    {
        string kex = First(client.KeyExchange, server.KeyExchange, "key exchange method", static n => SshAlgorithms.KeyExchange.Contains(n));
        string hostKey = First(client.HostKey, server.HostKey, "host key algorithm");
        string c2s = First(client.CipherClientToServer, server.CipherClientToServer, "cipher (client to server)");
        string s2c = First(client.CipherServerToClient, server.CipherServerToClient, "cipher (server to client)");
        // An AEAD cipher authenticates on its own: the MAC lists are not used for that direction.
        string macC2S = SshAlgorithms.IsAead(c2s) ? "" : First(client.MacClientToServer, server.MacClientToServer, "MAC (client to server)");
        string macS2C = SshAlgorithms.IsAead(s2c) ? "" : First(client.MacServerToClient, server.MacServerToClient, "MAC (server to client)");
        First(client.CompressionClientToServer, server.CompressionClientToServer, "compression (client to server)");
        First(client.CompressionServerToClient, server.CompressionServerToClient, "compression (server to client)");
        return new SshNegotiated(kex, hostKey, c2s, s2c, macC2S, macS2C);
    }

    /// <summary>Whether a side's guessed first kex packet (first_kex_packet_follows) was sent for the wrong algorithms.</summary>
    public bool GuessWasWrong(SshKexInit client, SshKexInit server) =>
        client.KeyExchange.FirstOrDefault() != server.KeyExchange.FirstOrDefault() || client.HostKey.FirstOrDefault() != server.HostKey.FirstOrDefault();

    private static string First(string[] client, string[] server, string what, Func<string, bool>? usable = null)
    {
        foreach (var name in client)
        {
            if (Array.IndexOf(server, name) >= 0 && (usable is null || usable(name)))
            {
                return name;
            }
        }
        SshProtocolException.Throw($"no {what} in common (offered: {string.Join(',', client)}; accepted: {string.Join(',', server)})",
            SshDisconnectReason.KeyExchangeFailed);
        return null!;
    }
}
