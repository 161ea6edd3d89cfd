using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Wire.Ssh.Transport;

/// <summary>
/// The cipher and MAC of one direction of the binary packet protocol (RFC 4253 §6). A packet here is
/// <c>uint32 packet_length</c>, the <c>packet_length</c> bytes (padding length, payload, padding) and the MAC.
/// Every mode Wire speaks leaves the length in the clear (AES-GCM uses it as associated data, the -etm MACs cover it),
/// so a receiver can check it against its limit before buffering the packet.
/// </summary>
internal abstract class SshPacketProtection : IDisposable
{
    /// <summary>What the padded part must be a multiple of.</summary>
    public abstract int BlockSize { get; }

    /// <summary>Bytes of MAC (or tag) after the packet.</summary>
    public abstract int MacLength { get; }

    /// <summary>Whether the length field counts toward the block alignment (only before the first NEWKEYS).</summary>
    public virtual bool AlignsLengthField => false;

    /// <summary>Checks the MAC of <paramref name="packet"/> and decrypts it in place (the length stays as it is). False when the MAC does not verify.</summary>
    public abstract bool Open(Span<byte> packet, uint sequence);

    /// <summary>Encrypts <paramref name="packet"/> in place and writes its MAC into the last <see cref="MacLength"/> bytes.</summary>
    public abstract void Seal(Span<byte> packet, uint sequence);

    public virtual void Dispose()
    {
    }

    /// <summary>The protection of a direction from the negotiated names and the keys derived for it.</summary>
    public static SshPacketProtection Create(string cipher, string mac, ReadOnlySpan<byte> key, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> macKey) =>
        SshAlgorithms.IsAead(cipher) ? new Gcm(key, iv) : new CtrEtm(key, iv, mac, macKey);

    /// <summary>Before the first key exchange completes: no cipher, no MAC.</summary>
    public sealed class None : SshPacketProtection
    {
        public static None Instance { get; } = new();

        public override int BlockSize => 8;

        public override int MacLength => 0;

        public override bool AlignsLengthField => true;

        public override bool Open(Span<byte> packet, uint sequence) => true;

        public override void Seal(Span<byte> packet, uint sequence)
        {
        }

        public override void Dispose()
        {
            // Shared, stateless.
        }
    }

    /// <summary>
    /// aes128-gcm@openssh.com and aes256-gcm@openssh.com (RFC 5647 as OpenSSH uses it): the length is associated data,
    /// the nonce is the 4-byte fixed field and an 8-byte invocation counter that counts packets.
    /// </summary>
    private sealed class Gcm : SshPacketProtection
    {
        private readonly AesGcm _aes;
        private readonly byte[] _nonce = new byte[12];

        public Gcm(ReadOnlySpan<byte> key, ReadOnlySpan<byte> iv)
        {
            _aes = new AesGcm(key, 16);
            iv[..12].CopyTo(_nonce);
        }

        public override int BlockSize => 16;

        public override int MacLength => 16;

        public override bool Open(Span<byte> packet, uint sequence)
        {
            int length = packet.Length - 4 - 16;
            var body = packet.Slice(4, length);
            try
            {
                _aes.Decrypt(_nonce, body, packet.Slice(4 + length, 16), body, packet[..4]);
            }
            catch (AuthenticationTagMismatchException)
            {
                return false;
            }
            Advance();
            return true;
        }

        public override void Seal(Span<byte> packet, uint sequence)
        {
            int length = packet.Length - 4 - 16;
            var body = packet.Slice(4, length);
            _aes.Encrypt(_nonce, body, body, packet.Slice(4 + length, 16), packet[..4]);
            Advance();
        }

        private void Advance()
        {
            ulong counter = BinaryPrimitives.ReadUInt64BigEndian(_nonce.AsSpan(4));
            BinaryPrimitives.WriteUInt64BigEndian(_nonce.AsSpan(4), counter + 1);
        }

        public override void Dispose() => _aes.Dispose();
    }

    /// <summary>
    /// aes128-ctr/aes256-ctr with hmac-sha2-256-etm@openssh.com or hmac-sha2-512-etm@openssh.com: encrypt, then MAC the
    /// sequence number, the clear length and the ciphertext; a receiver checks the MAC before it decrypts anything.
    /// </summary>
    private sealed class CtrEtm : SshPacketProtection
    {
        private readonly SshAesCtr _ctr;
        private readonly IncrementalHash _mac;
        private readonly int _macLength;

        public CtrEtm(ReadOnlySpan<byte> key, ReadOnlySpan<byte> iv, string mac, ReadOnlySpan<byte> macKey)
        {
            _ctr = new SshAesCtr(key, iv);
            var hash = SshAlgorithms.MacHash(mac);
            _macLength = SshAlgorithms.MacLength(mac);
            _mac = IncrementalHash.CreateHMAC(hash, macKey);
        }

        public override int BlockSize => 16;

        public override int MacLength => _macLength;

        public override bool Open(Span<byte> packet, uint sequence)
        {
            int covered = packet.Length - _macLength;
            Span<byte> expected = stackalloc byte[64];
            Compute(packet[..covered], sequence, expected);
            if (!CryptographicOperations.FixedTimeEquals(expected[.._macLength], packet[covered..]))
            {
                return false;
            }
            _ctr.Transform(packet[4..covered]);
            return true;
        }

        public override void Seal(Span<byte> packet, uint sequence)
        {
            int covered = packet.Length - _macLength;
            _ctr.Transform(packet[4..covered]);
            Span<byte> mac = stackalloc byte[64];
            Compute(packet[..covered], sequence, mac);
            mac[.._macLength].CopyTo(packet[covered..]);
        }

        private void Compute(ReadOnlySpan<byte> covered, uint sequence, Span<byte> destination)
        {
            Span<byte> seq = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(seq, sequence);
            _mac.AppendData(seq);
            _mac.AppendData(covered);
            _mac.GetHashAndReset(destination);
        }

        public override void Dispose()
        {
            _ctr.Dispose();
            _mac.Dispose();
        }
    }
}
