using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using Wire.Ssh.Protocol;

namespace Wire.Ssh.Keys;

/// <summary>
/// Reads and writes private key files: OpenSSH's own format (<c>-----BEGIN OPENSSH PRIVATE KEY-----</c>, PROTOCOL.key)
/// and, for reading, the PEM forms <c>RSA PRIVATE KEY</c> (PKCS#1), <c>EC PRIVATE KEY</c> (SEC 1) and <c>PRIVATE KEY</c>
/// (PKCS#8, RSA or ECDSA P-256). Only unencrypted keys are supported. Error messages never carry key material.
/// </summary>
public static class OpenSshKeyFile
{
    private const string OpenSshLabel = "OPENSSH PRIVATE KEY";
    private const string P256Oid = "1.2.840.10045.3.1.7";

    // The largest RSA modulus read, in bytes (OpenSSH's own limit is 16384 bits).
    private const int MaximumRsaBytes = 16384 / 8;

    private static ReadOnlySpan<byte> Magic => "openssh-key-v1\0"u8;

    /// <summary>
    /// Reads a private key file. Encrypted, malformed, inconsistent and unsupported keys throw
    /// <see cref="FormatException"/>.
    /// </summary>
    /// <param name="text">The whole file.</param>
    public static SshPrivateKey Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var (label, data) = ReadPem(text);
        try
        {
            return label switch
            {
                OpenSshLabel => ParseOpenSsh(data),
                "RSA PRIVATE KEY" => ImportRsa(data, static (rsa, bytes) => { rsa.ImportRSAPrivateKey(bytes, out int read); return read; }),
                "EC PRIVATE KEY" => ImportEcdsa(data, static (ecdsa, bytes) => { ecdsa.ImportECPrivateKey(bytes, out int read); return read; }),
                "PRIVATE KEY" => ImportPkcs8(data),
                _ => throw new FormatException($"unsupported key file ({Shorten(label)}): expected an OpenSSH, RSA, EC or PKCS#8 private key"),
            };
        }
        catch (SshProtocolException e)
        {
            throw new FormatException("a malformed private key file: " + e.Message, e);
        }
        catch (CryptographicException e)
        {
            throw new FormatException("an invalid private key: " + e.Message, e);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(data);
        }
    }

    /// <summary>
    /// Writes <paramref name="key"/> as an unencrypted OpenSSH private key file (random check integers, padded, base64
    /// wrapped at 70 columns, ending in a newline), as <c>ssh-keygen</c> writes one without a passphrase.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="comment">The comment stored with the key.</param>
    public static string Write(SshPrivateKey key, string comment = "")
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(comment);
        using var section = new SshWriter(4096);
        Span<byte> check = stackalloc byte[4];
        RandomNumberGenerator.Fill(check);
        section.Raw(check).Raw(check).String(key.KeyType);
        switch (key)
        {
            case SshPrivateKey.Ed25519PrivateKey ed25519:
            {
                byte[] seed = ed25519.Seed;
                byte[] pub = ed25519.RawPublicKey;
                section.String(pub).UInt32((uint)(seed.Length + pub.Length)).Raw(seed).Raw(pub);
                CryptographicOperations.ZeroMemory(seed);
                break;
            }
            case SshPrivateKey.EcdsaPrivateKey ecdsa:
            {
                var parameters = ecdsa.Key.ExportParameters(true);
                Span<byte> point = stackalloc byte[65];
                point[0] = 4;
                parameters.Q.X.AsSpan().CopyTo(point[1..]);
                parameters.Q.Y.AsSpan().CopyTo(point[33..]);
                section.String("nistp256").String(point).Mpint(parameters.D);
                CryptographicOperations.ZeroMemory(parameters.D);
                break;
            }
            case SshPrivateKey.RsaPrivateKey rsa:
            {
                var p = rsa.Key.ExportParameters(true);
                section.Mpint(p.Modulus).Mpint(p.Exponent).Mpint(p.D).Mpint(p.InverseQ).Mpint(p.P).Mpint(p.Q);
                Clear(p);
                break;
            }
            default:
                throw new ArgumentException($"unsupported key type {key.KeyType}", nameof(key));
        }
        section.String(comment);
        for (byte pad = 1; section.Length % 8 != 0; pad++)
        {
            section.Byte(pad);
        }

        using var file = new SshWriter(section.Length + 512);
        file.Raw(Magic).String("none").String("none").String(""u8).UInt32(1).String(key.PublicKey.Blob).String(section.Written);
        string base64 = Convert.ToBase64String(file.Written);
        var text = new StringBuilder(base64.Length + (base64.Length / 70) + 80);
        text.Append("-----BEGIN ").Append(OpenSshLabel).Append("-----\n");
        for (int i = 0; i < base64.Length; i += 70)
        {
            text.Append(base64.AsSpan(i, Math.Min(70, base64.Length - i))).Append('\n');
        }
        text.Append("-----END ").Append(OpenSshLabel).Append("-----\n");
        return text.ToString();
    }

    // The first "-----BEGIN LABEL-----" block: its label and decoded contents.
    private static (string Label, byte[] Data) ReadPem(string text)
    {
        const string begin = "-----BEGIN ";
        const string dashes = "-----";
        int labelStart;
        int labelEnd = 0;
        string label;
        do
        {
            // "openssl ecparam -genkey" puts an "EC PARAMETERS" block before the key: skipped.
            int start = text.IndexOf(begin, labelEnd, StringComparison.Ordinal);
            if (start < 0)
            {
                throw new FormatException("not a private key file: no \"-----BEGIN ... PRIVATE KEY-----\" line");
            }
            labelStart = start + begin.Length;
            labelEnd = text.IndexOf(dashes, labelStart, StringComparison.Ordinal);
            if (labelEnd < 0 || labelEnd == labelStart || labelEnd - labelStart > 64 || text.AsSpan(labelStart, labelEnd - labelStart).ContainsAny('\r', '\n'))
            {
                throw new FormatException("a malformed \"-----BEGIN\" line");
            }
            label = text[labelStart..labelEnd];
        }
        while (label == "EC PARAMETERS");
        if (label.Contains("ENCRYPTED", StringComparison.Ordinal))
        {
            throw Encrypted();
        }
        int bodyStart = labelEnd + dashes.Length;
        int end = text.IndexOf("-----END " + label + dashes, bodyStart, StringComparison.Ordinal);
        if (end < 0)
        {
            throw new FormatException($"the {Shorten(label)} block has no \"-----END\" line (a truncated file?)");
        }
        var body = text.AsSpan(bodyStart, end - bodyStart);
        // RFC 1421 headers ("Proc-Type: 4,ENCRYPTED", "DEK-Info: ...") precede the base64 of an encrypted legacy PEM key.
        if (body.Contains(':'))
        {
            throw body.Contains("ENCRYPTED", StringComparison.Ordinal)
                ? Encrypted()
                : new FormatException($"the {Shorten(label)} block has headers, which are not supported");
        }
        var data = new byte[body.Length * 3 / 4];
        if (!Convert.TryFromBase64Chars(body, data, out int written))
        {
            throw new FormatException($"the {Shorten(label)} block is not valid base64");
        }
        if (written == 0)
        {
            throw new FormatException($"the {Shorten(label)} block is empty");
        }
        if (written == data.Length)
        {
            return (label, data);
        }
        var exact = data.AsSpan(0, written).ToArray();
        CryptographicOperations.ZeroMemory(data);
        return (label, exact);
    }

    private static FormatException Encrypted() => new(
        "encrypted private keys are not supported: remove the passphrase with `ssh-keygen -p -N \"\" -f FILE` " +
        "(or convert the key without a passphrase)");

    private static SshPrivateKey ParseOpenSsh(ReadOnlySpan<byte> data)
    {
        if (!data.StartsWith(Magic))
        {
            throw new FormatException("not an openssh-key-v1 private key");
        }
        var reader = new SshReader(data[Magic.Length..]);
        string cipher = reader.ReadAscii();
        string kdf = reader.ReadAscii();
        var kdfOptions = reader.ReadString();
        if (cipher != "none")
        {
            throw Encrypted();
        }
        if (kdf != "none" || !kdfOptions.IsEmpty)
        {
            throw new FormatException("an unencrypted key names a key derivation function");
        }
        if (reader.ReadUInt32() != 1)
        {
            throw new FormatException("a key file must hold exactly one key");
        }
        var publicBlob = reader.ReadString();
        var section = reader.ReadString();
        reader.EnsureEnd();
        if (section.Length % 8 != 0)
        {
            throw new FormatException("the private section is not padded to a multiple of 8 bytes");
        }

        var inner = new SshReader(section);
        uint check1 = inner.ReadUInt32();
        uint check2 = inner.ReadUInt32();
        if (check1 != check2)
        {
            throw new FormatException("the check integers of the private section differ (a corrupt file)");
        }
        string type = inner.ReadAscii();
        var key = type switch
        {
            SshPublicKey.Ed25519 => ReadEd25519(ref inner),
            SshPublicKey.EcdsaP256 => ReadEcdsa(ref inner),
            SshPublicKey.Rsa => ReadRsa(ref inner),
            _ => throw new FormatException($"unsupported key type {Shorten(type)}: only ssh-ed25519, ecdsa-sha2-nistp256 and ssh-rsa"),
        };
        try
        {
            inner.ReadString(); // the comment
            var padding = inner.Rest;
            for (int i = 0; i < padding.Length; i++)
            {
                if (padding[i] != (byte)(i + 1))
                {
                    throw new FormatException("the private section's padding is wrong (a corrupt file)");
                }
            }
            if (!key.PublicKey.Blob.SequenceEqual(publicBlob))
            {
                throw new FormatException("the file's public key does not match its private key");
            }
            return key;
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    private static SshPrivateKey ReadEd25519(ref SshReader reader)
    {
        var pub = reader.ReadString();
        var priv = reader.ReadString();
        if (pub.Length != 32 || priv.Length != 64)
        {
            throw new FormatException("an ssh-ed25519 key must have a 32-byte public and a 64-byte private part");
        }
        if (!priv[32..].SequenceEqual(pub))
        {
            throw new FormatException("the ssh-ed25519 private part does not end with its public key");
        }
        var key = SshPrivateKey.FromEd25519Seed(priv[..32]);
        if (!((SshPrivateKey.Ed25519PrivateKey)key).RawPublicKey.AsSpan().SequenceEqual(pub))
        {
            key.Dispose();
            throw new FormatException("the ssh-ed25519 seed does not give its public key");
        }
        return key;
    }

    private static SshPrivateKey ReadEcdsa(ref SshReader reader)
    {
        if (reader.ReadAscii() != "nistp256")
        {
            throw new FormatException("an ecdsa-sha2-nistp256 key names another curve");
        }
        var point = reader.ReadString();
        var d = reader.ReadPositiveMpint();
        var q = SshPublicKey.DecodePoint(point).Q;
        if (d.IsEmpty || d.Length > 32)
        {
            throw new FormatException("the ECDSA private scalar is out of range");
        }
        byte[] scalar = new byte[32];
        d.CopyTo(scalar.AsSpan(32 - d.Length));
        ECDsa? ecdsa = null;
        try
        {
            // Imported without Q: the public point is derived from the scalar, then compared with the file's.
            ecdsa = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, D = scalar });
            var derived = ecdsa.ExportParameters(false).Q;
            if (!derived.X.AsSpan().SequenceEqual(q.X) || !derived.Y.AsSpan().SequenceEqual(q.Y))
            {
                throw new FormatException("the ECDSA private scalar does not give its public point");
            }
            var key = SshPrivateKey.FromEcdsa(ecdsa);
            ecdsa = null;
            return key;
        }
        finally
        {
            ecdsa?.Dispose();
            CryptographicOperations.ZeroMemory(scalar);
        }
    }

    private static SshPrivateKey ReadRsa(ref SshReader reader)
    {
        var n = reader.ReadPositiveMpint();
        var e = reader.ReadPositiveMpint();
        var d = reader.ReadPositiveMpint();
        var iqmp = reader.ReadPositiveMpint();
        var p = reader.ReadPositiveMpint();
        var q = reader.ReadPositiveMpint();
        if (n.Length > MaximumRsaBytes)
        {
            throw new FormatException("RSA keys longer than 16384 bits are not supported");
        }
        if (n.Length * 8 < SshPublicKey.MinimumRsaBits)
        {
            throw new FormatException($"RSA keys shorter than {SshPublicKey.MinimumRsaBits} bits are refused");
        }
        // .NET wants D as long as the modulus and the CRT values half as long (rounded up): balanced primes only.
        int size = n.Length;
        int half = (size + 1) / 2;
        if (e.IsEmpty || e.Length > 8 || d.IsEmpty || d.Length > size || p.IsEmpty || p.Length > half || q.IsEmpty || q.Length > half || iqmp.IsEmpty || iqmp.Length > half)
        {
            throw new FormatException("the RSA key's parameters have impossible lengths");
        }
        var bigN = Unsigned(n);
        var bigE = Unsigned(e);
        var bigD = Unsigned(d);
        var bigP = Unsigned(p);
        var bigQ = Unsigned(q);
        var bigIqmp = Unsigned(iqmp);
        if (bigP <= BigInteger.One || bigQ <= BigInteger.One || bigP * bigQ != bigN)
        {
            throw new FormatException("the RSA primes do not multiply to the modulus");
        }
        if (bigIqmp >= bigP || (bigIqmp * bigQ) % bigP != BigInteger.One)
        {
            throw new FormatException("the RSA CRT coefficient is not the inverse of q mod p");
        }
        var dp = bigD % (bigP - 1);
        var dq = bigD % (bigQ - 1);
        if ((bigE * dp) % (bigP - 1) != BigInteger.One || (bigE * dq) % (bigQ - 1) != BigInteger.One)
        {
            throw new FormatException("the RSA private exponent does not match the public one");
        }

        var parameters = new RSAParameters
        {
            Modulus = n.ToArray(),
            Exponent = e.ToArray(),
            D = Padded(d, size),
            P = Padded(p, half),
            Q = Padded(q, half),
            DP = Padded(dp, half),
            DQ = Padded(dq, half),
            InverseQ = Padded(iqmp, half),
        };
        RSA? rsa = null;
        try
        {
            rsa = RSA.Create(parameters);
            if (rsa.KeySize < SshPublicKey.MinimumRsaBits)
            {
                throw new FormatException($"RSA keys shorter than {SshPublicKey.MinimumRsaBits} bits are refused");
            }
            var key = SshPrivateKey.FromRsa(rsa);
            rsa = null;
            return key;
        }
        finally
        {
            rsa?.Dispose();
            Clear(parameters);
        }
    }

    private static void Clear(RSAParameters parameters)
    {
        CryptographicOperations.ZeroMemory(parameters.D);
        CryptographicOperations.ZeroMemory(parameters.P);
        CryptographicOperations.ZeroMemory(parameters.Q);
        CryptographicOperations.ZeroMemory(parameters.DP);
        CryptographicOperations.ZeroMemory(parameters.DQ);
        CryptographicOperations.ZeroMemory(parameters.InverseQ);
    }

    private static BigInteger Unsigned(ReadOnlySpan<byte> magnitude) => new(magnitude, isUnsigned: true, isBigEndian: true);

    private static byte[] Padded(ReadOnlySpan<byte> magnitude, int length)
    {
        var result = new byte[length];
        magnitude.CopyTo(result.AsSpan(length - magnitude.Length));
        return result;
    }

    private static byte[] Padded(BigInteger value, int length)
    {
        var result = new byte[length];
        int count = value.GetByteCount(isUnsigned: true);
        if (count > length || !value.TryWriteBytes(result.AsSpan(length - count), out _, isUnsigned: true, isBigEndian: true))
        {
            throw new FormatException("the RSA key's parameters have impossible lengths");
        }
        return result;
    }

    private delegate int Importer<T>(T key, byte[] data);

    private static SshPrivateKey ImportRsa(byte[] data, Importer<RSA> import)
    {
        var rsa = RSA.Create();
        try
        {
            if (import(rsa, data) != data.Length)
            {
                throw new FormatException("the RSA private key has trailing bytes");
            }
            if (rsa.KeySize < SshPublicKey.MinimumRsaBits)
            {
                throw new FormatException($"RSA keys shorter than {SshPublicKey.MinimumRsaBits} bits are refused");
            }
            return SshPrivateKey.FromRsa(rsa);
        }
        catch
        {
            rsa.Dispose();
            throw;
        }
    }

    private static SshPrivateKey ImportEcdsa(byte[] data, Importer<ECDsa> import)
    {
        var ecdsa = ECDsa.Create();
        try
        {
            if (import(ecdsa, data) != data.Length)
            {
                throw new FormatException("the EC private key has trailing bytes");
            }
            if (ecdsa.ExportParameters(false).Curve.Oid?.Value != P256Oid)
            {
                throw new FormatException("only ECDSA keys on the P-256 curve (nistp256) are supported");
            }
            return SshPrivateKey.FromEcdsa(ecdsa);
        }
        catch
        {
            ecdsa.Dispose();
            throw;
        }
    }

    // PKCS#8 names its algorithm inside: RSA is tried first, then EC.
    private static SshPrivateKey ImportPkcs8(byte[] data)
    {
        try
        {
            return ImportRsa(data, static (rsa, bytes) => { rsa.ImportPkcs8PrivateKey(bytes, out int read); return read; });
        }
        catch (CryptographicException)
        {
        }
        try
        {
            return ImportEcdsa(data, static (ecdsa, bytes) => { ecdsa.ImportPkcs8PrivateKey(bytes, out int read); return read; });
        }
        catch (CryptographicException e)
        {
            throw new FormatException("a PKCS#8 key that is neither a valid RSA nor ECDSA key (Ed25519 and other PKCS#8 keys are not supported)", e);
        }
    }

    // Labels and key type names come from the file: quoted in messages, but never at length.
    private static string Shorten(string value) => value.Length <= 40 ? value : value[..40] + "...";
}
