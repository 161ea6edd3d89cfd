using System.Security.Cryptography;
using NSec.Cryptography;
using Wire.Ssh.Protocol;

namespace Wire.Ssh.Keys;

/// <summary>
/// A public key in SSH wire format (RFC 4253 §6.6): <c>ssh-ed25519</c> (RFC 8709), <c>ecdsa-sha2-nistp256</c> (RFC 5656) or
/// <c>ssh-rsa</c> (verified with <c>rsa-sha2-256</c>/<c>rsa-sha2-512</c>, RFC 8332; SHA-1 signatures are refused).
/// </summary>
public sealed class SshPublicKey : IEquatable<SshPublicKey>
{
    /// <summary>The Ed25519 key type.</summary>
    public const string Ed25519 = "ssh-ed25519";

    /// <summary>The ECDSA P-256 key type (also its signature algorithm).</summary>
    public const string EcdsaP256 = "ecdsa-sha2-nistp256";

    /// <summary>The RSA key type.</summary>
    public const string Rsa = "ssh-rsa";

    /// <summary>RSA signatures with SHA-256.</summary>
    public const string RsaSha256 = "rsa-sha2-256";

    /// <summary>RSA signatures with SHA-512.</summary>
    public const string RsaSha512 = "rsa-sha2-512";

    /// <summary>The smallest RSA modulus accepted, in bits.</summary>
    public const int MinimumRsaBits = 2048;

    private readonly byte[] _blob;

    // One of these, by key type.
    private readonly NSec.Cryptography.PublicKey? _ed25519;
    private readonly ECParameters _ecdsa;
    private readonly RSAParameters _rsa;

    private SshPublicKey(string keyType, byte[] blob, NSec.Cryptography.PublicKey? ed25519, ECParameters ecdsa, RSAParameters rsa)
    {
        KeyType = keyType;
        _blob = blob;
        _ed25519 = ed25519;
        _ecdsa = ecdsa;
        _rsa = rsa;
    }

    /// <summary>The key type: <see cref="Ed25519"/>, <see cref="EcdsaP256"/> or <see cref="Rsa"/>.</summary>
    public string KeyType { get; }

    /// <summary>The key in SSH wire format.</summary>
    public ReadOnlySpan<byte> Blob => _blob;

    /// <summary>The signature algorithms this key verifies (for RSA the SHA-2 ones only).</summary>
    public IReadOnlyList<string> SignatureAlgorithms => KeyType switch
    {
        Rsa => [RsaSha512, RsaSha256],
        _ => [KeyType],
    };

    /// <summary>OpenSSH's fingerprint: <c>SHA256:</c> and the unpadded base64 of the blob's SHA-256.</summary>
    public string Fingerprint => "SHA256:" + Convert.ToBase64String(SHA256.HashData(_blob)).TrimEnd('=');

    /// <summary>Reads a key from its wire format; unsupported types and malformed keys throw <see cref="FormatException"/>.</summary>
    public static SshPublicKey Parse(ReadOnlySpan<byte> blob)
    {
        try
        {
            var reader = new SshReader(blob);
            string type = reader.ReadAscii();
            switch (type)
            {
                case Ed25519:
                {
                    var raw = reader.ReadString();
                    reader.EnsureEnd();
                    if (raw.Length != 32 || !NSec.Cryptography.PublicKey.TryImport(SignatureAlgorithm.Ed25519, raw, KeyBlobFormat.RawPublicKey, out var key))
                    {
                        throw new FormatException("an ssh-ed25519 key must be 32 bytes");
                    }
                    return new SshPublicKey(type, blob.ToArray(), key, default, default);
                }
                case EcdsaP256:
                {
                    if (reader.ReadAscii() != "nistp256")
                    {
                        throw new FormatException("an ecdsa-sha2-nistp256 key names another curve");
                    }
                    var point = reader.ReadString();
                    reader.EnsureEnd();
                    var parameters = DecodePoint(point);
                    // Checks the point is on the curve.
                    using (var check = ECDsa.Create(parameters))
                    {
                    }
                    return new SshPublicKey(type, blob.ToArray(), null, parameters, default);
                }
                case Rsa:
                {
                    var e = reader.ReadPositiveMpint();
                    var n = reader.ReadPositiveMpint();
                    reader.EnsureEnd();
                    if (n.Length * 8 < MinimumRsaBits - 7 || e.IsEmpty)
                    {
                        throw new FormatException($"RSA keys shorter than {MinimumRsaBits} bits are refused");
                    }
                    return new SshPublicKey(type, blob.ToArray(), null, default, new RSAParameters { Exponent = e.ToArray(), Modulus = n.ToArray() });
                }
                default:
                    throw new FormatException($"unsupported key type {type}");
            }
        }
        catch (SshProtocolException e)
        {
            throw new FormatException("a malformed public key: " + e.Message, e);
        }
        catch (CryptographicException e)
        {
            throw new FormatException("a malformed public key: " + e.Message, e);
        }
    }

    /// <summary>
    /// Whether <paramref name="signatureBlob"/> (<c>string algorithm, string signature</c>) is this key's signature of
    /// <paramref name="data"/> under <paramref name="algorithm"/>. A signature naming another algorithm does not verify.
    /// </summary>
    public bool Verify(string algorithm, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signatureBlob)
    {
        if (!SignatureAlgorithms.Contains(algorithm))
        {
            return false;
        }
        try
        {
            var reader = new SshReader(signatureBlob);
            if (reader.ReadAscii() != algorithm)
            {
                return false;
            }
            var signature = reader.ReadString();
            reader.EnsureEnd();
            switch (KeyType)
            {
                case Ed25519:
                    return signature.Length == 64 && SignatureAlgorithm.Ed25519.Verify(_ed25519!, data, signature);
                case EcdsaP256:
                {
                    var inner = new SshReader(signature);
                    var r = inner.ReadPositiveMpint();
                    var s = inner.ReadPositiveMpint();
                    inner.EnsureEnd();
                    if (r.Length > 32 || s.Length > 32)
                    {
                        return false;
                    }
                    Span<byte> fixedForm = stackalloc byte[64];
                    fixedForm.Clear();
                    r.CopyTo(fixedForm[(32 - r.Length)..32]);
                    s.CopyTo(fixedForm[(64 - s.Length)..]);
                    using var ecdsa = ECDsa.Create(_ecdsa);
                    return ecdsa.VerifyData(data, fixedForm, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
                }
                case Rsa:
                {
                    int modulus = _rsa.Modulus!.Length;
                    if (signature.Length > modulus)
                    {
                        return false;
                    }
                    // Some signers drop leading zero bytes: pad back to the modulus length.
                    byte[] padded = new byte[modulus];
                    signature.CopyTo(padded.AsSpan(modulus - signature.Length));
                    using var rsa = RSA.Create(_rsa);
                    return rsa.VerifyData(data, padded, algorithm == RsaSha512 ? HashAlgorithmName.SHA512 : HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
                }
                default:
                    return false;
            }
        }
        catch (Exception e) when (e is SshProtocolException or CryptographicException)
        {
            return false;
        }
    }

    /// <summary>The key as an authorized_keys or known_hosts key field: <c>type base64 [comment]</c>.</summary>
    public string ToOpenSshString(string? comment = null) =>
        KeyType + " " + Convert.ToBase64String(_blob) + (string.IsNullOrEmpty(comment) ? "" : " " + comment);

    /// <inheritdoc/>
    public bool Equals(SshPublicKey? other) => other is not null && _blob.AsSpan().SequenceEqual(other._blob);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as SshPublicKey);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(_blob);
        return hash.ToHashCode();
    }

    /// <inheritdoc/>
    public override string ToString() => KeyType + " " + Fingerprint;

    internal static ECParameters DecodePoint(ReadOnlySpan<byte> point)
    {
        if (point.Length != 65 || point[0] != 4)
        {
            throw new FormatException("a P-256 point must be 65 bytes, uncompressed");
        }
        return new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = point.Slice(1, 32).ToArray(), Y = point.Slice(33, 32).ToArray() },
        };
    }
}
