using Wire.Ssh.Keys;

namespace Wire.Ssh.Transport;

/// <summary>How one SSH connection's transport behaves, in either role.</summary>
internal sealed class SshTransportOptions
{
    /// <summary>The server role: Wire's host keys (at least one). Unused by clients.</summary>
    public IReadOnlyList<SshPrivateKey> HostKeys { get; init; } = [];

    /// <summary>
    /// The client role: decides whether the server's host key is the one expected (known_hosts). Called once, at the
    /// first key exchange; re-exchanges must present the same key.
    /// </summary>
    public Func<SshPublicKey, bool>? VerifyHostKey { get; init; }

    /// <summary>The software part of Wire's identification string.</summary>
    public string SoftwareVersion { get; init; } = "Wire_0.1";

    /// <summary>Longest packet accepted (packet_length), checked before the packet is buffered. Default 256 KiB, as OpenSSH.</summary>
    public int MaxPacketLength { get; init; } = 256 * 1024;

    /// <summary>Bytes (both directions together) after which Wire starts a new key exchange. Default 1 GiB.</summary>
    public long RekeyBytes { get; init; } = 1L << 30;

    /// <summary>
    /// Most bytes of higher-layer messages held while a key exchange is under way (they go out under the new keys). A
    /// peer that starts an exchange and never finishes it would otherwise make Wire buffer without end: past this the
    /// connection ends. Default 32 MiB, far above what a relay sends during a normal exchange.
    /// </summary>
    public long MaxHeldBytes { get; init; } = 32L << 20;

    /// <summary>Key exchange methods offered, by preference (tests narrow them).</summary>
    public string[] KeyExchange { get; init; } = SshAlgorithms.KeyExchange;

    /// <summary>Ciphers offered, by preference.</summary>
    public string[] Ciphers { get; init; } = SshAlgorithms.Ciphers;

    /// <summary>MACs offered (for the CTR ciphers), by preference.</summary>
    public string[] Macs { get; init; } = SshAlgorithms.Macs;

    /// <summary>Host key algorithms offered (the client role; the server offers what its keys sign with).</summary>
    public string[] HostKeyAlgorithms { get; init; } = SshAlgorithms.HostKeys;
}
