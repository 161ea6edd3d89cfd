using System.Security.Cryptography;
using NSec.Cryptography;
using Wire.Ssh.Protocol;

namespace Wire.Ssh.Keys;

/// <summary>
/// A private key Wire signs with: a host key of its server role, or the key it logs in to a target with. Ed25519
/// (libsodium through NSec), ECDSA P-256 and RSA (.NET's platform cryptography); nothing hand-written.
/// </summary>
public abstract class SshPrivateKey : IDisposable
{
    private SshPublicKey? _public;

    /// <summary>The key type (<see cref="SshPublicKey.Ed25519"/>, <see cref="SshPublicKey.EcdsaP256"/>, <see cref="SshPublicKey.Rsa"/>).</summary>
    public abstract string KeyType { get; }

    /// <summary>The public half.</summary>
    public SshPublicKey PublicKey => _public ??= SshPublicKey.Parse(EncodePublicKey());

    /// <summary>The signature algorithms this key signs with, preferred first.</summary>
    public IReadOnlyList<string> SignatureAlgorithms => PublicKey.SignatureAlgorithms;

    /// <summary>A signature blob (<c>string algorithm, string signature</c>) of <paramref name="data"/>.</summary>
    public abstract byte[] Sign(string algorithm, ReadOnlySpan<byte> data);

    /// <summary>A new random key of <paramref name="keyType"/> (RSA: 3072 bits).</summary>
    public static SshPrivateKey Generate(string keyType) => keyType switch
    {
        SshPublicKey.Ed25519 => new Ed25519PrivateKey(NSec.Cryptography.Key.Create(SignatureAlgorithm.Ed25519, Exportable)),
        SshPublicKey.EcdsaP256 => new EcdsaPrivateKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)),
        SshPublicKey.Rsa => new RsaPrivateKey(RSA.Create(3072)),
        _ => throw new ArgumentException($"unsupported key type {keyType}", nameof(keyType)),
    };

    /// <summary>An Ed25519 key from its 32-byte seed.</summary>
    public static SshPrivateKey FromEd25519Seed(ReadOnlySpan<byte> seed) =>
        new Ed25519PrivateKey(NSec.Cryptography.Key.Import(SignatureAlgorithm.Ed25519, seed, KeyBlobFormat.RawPrivateKey, Exportable));

    /// <summary>An ECDSA key (P-256 only); the key object is owned by the result.</summary>
    public static SshPrivateKey FromEcdsa(ECDsa key) =>
        key.ExportParameters(false).Curve.Oid?.Value == "1.2.840.10045.3.1.7"
            ? new EcdsaPrivateKey(key)
            : throw new ArgumentException("only P-256 ECDSA keys are supported", nameof(key));

    /// <summary>An RSA key of at least 2048 bits; the key object is owned by the result.</summary>
    public static SshPrivateKey FromRsa(RSA key) =>
        key.KeySize >= SshPublicKey.MinimumRsaBits ? new RsaPrivateKey(key) : throw new ArgumentException("RSA keys must have at least 2048 bits", nameof(key));

    private static KeyCreationParameters Exportable => new() { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };

    private protected abstract byte[] EncodePublicKey();

    private protected static byte[] SignatureBlob(string algorithm, ReadOnlySpan<byte> signature)
    {
        using var writer = new SshWriter(signature.Length + 32);
        return writer.String(algorithm).String(signature).ToArray();
    }

    private protected void RequireAlgorithm(string algorithm)
    {
        if (!SignatureAlgorithms.Contains(algorithm))
        {
            throw new ArgumentException($"a {KeyType} key does not sign with {algorithm}", nameof(algorithm));
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the key material.</summary>
    protected abstract void Dispose(bool disposing);

    internal sealed class Ed25519PrivateKey(NSec.Cryptography.Key key) : SshPrivateKey
    {
        public override string KeyType => SshPublicKey.Ed25519;

        /// <summary>The 32-byte seed (for writing key files).</summary>
        public byte[] Seed => key.Export(KeyBlobFormat.RawPrivateKey);

        public byte[] RawPublicKey => key.PublicKey.Export(KeyBlobFormat.RawPublicKey);

        public override byte[] Sign(string algorithm, ReadOnlySpan<byte> data)
        {
            RequireAlgorithm(algorithm);
            return SignatureBlob(algorithm, SignatureAlgorithm.Ed25519.Sign(key, data));
        }

        private protected override byte[] EncodePublicKey()
        {
            using var writer = new SshWriter();
            return writer.String(SshPublicKey.Ed25519).String(RawPublicKey).ToArray();
        }

        protected override void Dispose(bool disposing) => key.Dispose();
    }

    internal sealed class EcdsaPrivateKey(ECDsa key) : SshPrivateKey
    {
        public ECDsa Key => key;

        public override string KeyType => SshPublicKey.EcdsaP256;

        public override byte[] Sign(string algorithm, ReadOnlySpan<byte> data)
        {
            RequireAlgorithm(algorithm);
            Span<byte> fixedForm = stackalloc byte[64];
            key.SignData(data, fixedForm, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
            using var inner = new SshWriter(80);
            inner.Mpint(fixedForm[..32]).Mpint(fixedForm[32..]);
            return SignatureBlob(algorithm, inner.Written);
        }

        private protected override byte[] EncodePublicKey()
        {
            var q = key.ExportParameters(false).Q;
            Span<byte> point = stackalloc byte[65];
            point[0] = 4;
            q.X.CopyTo(point[1..]);
            q.Y.CopyTo(point[33..]);
            using var writer = new SshWriter();
            return writer.String(SshPublicKey.EcdsaP256).String("nistp256").String(point).ToArray();
        }

        protected override void Dispose(bool disposing) => key.Dispose();
    }

    internal sealed class RsaPrivateKey(RSA key) : SshPrivateKey
    {
        public RSA Key => key;

        public override string KeyType => SshPublicKey.Rsa;

        public override byte[] Sign(string algorithm, ReadOnlySpan<byte> data)
        {
            RequireAlgorithm(algorithm);
            var hash = algorithm == SshPublicKey.RsaSha512 ? HashAlgorithmName.SHA512 : HashAlgorithmName.SHA256;
            return SignatureBlob(algorithm, key.SignData(data.ToArray(), hash, RSASignaturePadding.Pkcs1));
        }

        private protected override byte[] EncodePublicKey()
        {
            var parameters = key.ExportParameters(false);
            using var writer = new SshWriter(600);
            return writer.String(SshPublicKey.Rsa).Mpint(parameters.Exponent).Mpint(parameters.Modulus).ToArray();
        }

        protected override void Dispose(bool disposing) => key.Dispose();
    }
}
