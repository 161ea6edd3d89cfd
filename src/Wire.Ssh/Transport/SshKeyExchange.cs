using System.Security.Cryptography;
using NSec.Cryptography;
using Wire.Ssh.Keys;
using Wire.Ssh.Protocol;

namespace Wire.Ssh.Transport;

/// <summary>
/// One side's ephemeral key of an ECDH key exchange: curve25519-sha256 (RFC 8731; X25519 from libsodium through NSec) or
/// ecdh-sha2-nistp256 (RFC 5656; .NET's ECDiffieHellman). Both hash with SHA-256.
/// </summary>
internal abstract class SshKeyExchange : IDisposable
{
    /// <summary>This side's ephemeral public key (Q_C or Q_S) as it goes on the wire.</summary>
    public abstract byte[] PublicKey { get; }

    /// <summary>
    /// The shared secret K from the peer's ephemeral public key, as an unsigned big-endian magnitude (its mpint encoding
    /// is done when hashing). An invalid peer key throws <see cref="SshProtocolException"/>.
    /// </summary>
    public abstract byte[] Agree(ReadOnlySpan<byte> peerPublicKey);

    public abstract void Dispose();

    public static SshKeyExchange Create(string method) => method switch
    {
        SshAlgorithms.Curve25519 or SshAlgorithms.Curve25519LibSsh => new X25519(),
        SshAlgorithms.EcdhP256 => new P256(),
        _ => throw new SshProtocolException($"unsupported key exchange {method}", SshDisconnectReason.KeyExchangeFailed),
    };

    /// <summary>
    /// The exchange hash H = SHA-256(string V_C, string V_S, string I_C, string I_S, string K_S, string Q_C, string Q_S, mpint K).
    /// </summary>
    public static byte[] ExchangeHash(string clientVersion, string serverVersion, ReadOnlySpan<byte> clientKexInit, ReadOnlySpan<byte> serverKexInit,
        ReadOnlySpan<byte> hostKey, ReadOnlySpan<byte> clientPublic, ReadOnlySpan<byte> serverPublic, ReadOnlySpan<byte> secret)
    {
        using var writer = new SshWriter(1024 + hostKey.Length + clientKexInit.Length + serverKexInit.Length);
        writer.String(clientVersion).String(serverVersion).String(clientKexInit).String(serverKexInit)
            .String(hostKey).String(clientPublic).String(serverPublic).Mpint(secret);
        return SHA256.HashData(writer.Written);
    }

    /// <summary>
    /// A key of <paramref name="length"/> bytes for <paramref name="letter"/> (RFC 4253 §7.2): HASH(K || H || letter ||
    /// session_id), extended by HASH(K || H || K1 || ... ) until long enough.
    /// </summary>
    public static byte[] DeriveKey(ReadOnlySpan<byte> secret, ReadOnlySpan<byte> exchangeHash, char letter, ReadOnlySpan<byte> sessionId, int length)
    {
        using var prefix = new SshWriter(128);
        prefix.Mpint(secret).Raw(exchangeHash);
        var key = new byte[(length + 31) / 32 * 32];
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(prefix.Written);
        hash.AppendData([(byte)letter]);
        hash.AppendData(sessionId);
        hash.GetHashAndReset(key.AsSpan(0, 32));
        for (int have = 32; have < length; have += 32)
        {
            hash.AppendData(prefix.Written);
            hash.AppendData(key.AsSpan(0, have));
            hash.GetHashAndReset(key.AsSpan(have, 32));
        }
        var result = key.AsSpan(0, length).ToArray();
        CryptographicOperations.ZeroMemory(key);
        return result;
    }

    private sealed class X25519 : SshKeyExchange
    {
        private static readonly KeyAgreementAlgorithm Algorithm = KeyAgreementAlgorithm.X25519;
        private readonly NSec.Cryptography.Key _key = NSec.Cryptography.Key.Create(Algorithm);

        public override byte[] PublicKey => _key.PublicKey.Export(KeyBlobFormat.RawPublicKey);

        public override byte[] Agree(ReadOnlySpan<byte> peerPublicKey)
        {
            if (peerPublicKey.Length != 32 || !NSec.Cryptography.PublicKey.TryImport(Algorithm, peerPublicKey, KeyBlobFormat.RawPublicKey, out var peer) || peer is null)
            {
                throw new SshProtocolException("the peer's X25519 key is not 32 bytes", SshDisconnectReason.KeyExchangeFailed);
            }
            // Null when the result is all zeros (a low-order point): refused, as RFC 8731 §3 requires.
            using var shared = Algorithm.Agree(_key, peer, new SharedSecretCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport })
                ?? throw new SshProtocolException("the peer's X25519 key gives an all-zero secret", SshDisconnectReason.KeyExchangeFailed);
            return shared.Export(SharedSecretBlobFormat.RawSharedSecret);
        }

        public override void Dispose() => _key.Dispose();
    }

    private sealed class P256 : SshKeyExchange
    {
        private readonly ECDiffieHellman _key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);

        public override byte[] PublicKey
        {
            get
            {
                var q = _key.ExportParameters(false).Q;
                var point = new byte[65];
                point[0] = 4;
                q.X!.CopyTo(point, 1);
                q.Y!.CopyTo(point, 33);
                return point;
            }
        }

        public override byte[] Agree(ReadOnlySpan<byte> peerPublicKey)
        {
            try
            {
                using var peer = ECDiffieHellman.Create(SshPublicKey.DecodePoint(peerPublicKey));
                using var peerKey = peer.PublicKey;
                return _key.DeriveRawSecretAgreement(peerKey);
            }
            catch (Exception e) when (e is FormatException or CryptographicException)
            {
                throw new SshProtocolException("the peer's P-256 key is not a valid point", SshDisconnectReason.KeyExchangeFailed);
            }
        }

        public override void Dispose() => _key.Dispose();
    }
}
