using System.Net;
using Wire.Ssh.Protocol;

namespace Wire.Ssh.Keys;

/// <summary>
/// An OpenSSH certificate (the <c>-cert-v01@openssh.com</c> key types of OpenSSH's PROTOCOL.certkeys): a public key
/// with principals, a validity period and options, signed by a certificate authority. <see cref="Parse"/> checks the
/// authority's signature; who trusts that authority is the caller's decision.
/// </summary>
public sealed class SshCertificate
{
    private const string Suffix = "-cert-v01@openssh.com";

    /// <summary>User certificates (as opposed to host certificates).</summary>
    public const uint UserType = 1;

    private SshCertificate(string certificateType, SshPublicKey key, ulong serial, uint type, string keyId, IReadOnlyList<string> principals,
        ulong validAfter, ulong validBefore, IReadOnlyDictionary<string, string> criticalOptions, IReadOnlyList<string> extensions,
        SshPublicKey authority)
    {
        CertificateType = certificateType;
        Key = key;
        Serial = serial;
        Type = type;
        KeyId = keyId;
        Principals = principals;
        ValidAfter = validAfter;
        ValidBefore = validBefore;
        CriticalOptions = criticalOptions;
        Extensions = extensions;
        Authority = authority;
    }

    /// <summary>The certificate's key type, for example <c>ssh-ed25519-cert-v01@openssh.com</c>.</summary>
    public string CertificateType { get; }

    /// <summary>The certified key (the one the holder signs with).</summary>
    public SshPublicKey Key { get; }

    /// <summary>The serial number the authority gave it.</summary>
    public ulong Serial { get; }

    /// <summary>1 for a user certificate, 2 for a host certificate.</summary>
    public uint Type { get; }

    /// <summary>The authority's free-form identifier for it (logged, never trusted).</summary>
    public string KeyId { get; }

    /// <summary>The names it is valid for (for user certificates: user names).</summary>
    public IReadOnlyList<string> Principals { get; }

    /// <summary>Valid from (seconds since the Unix epoch).</summary>
    public ulong ValidAfter { get; }

    /// <summary>Valid until, exclusive (seconds since the Unix epoch; all bits set for forever).</summary>
    public ulong ValidBefore { get; }

    /// <summary>Critical options by name (<c>force-command</c>, <c>source-address</c>, ...): a verifier must refuse any it does not know.</summary>
    public IReadOnlyDictionary<string, string> CriticalOptions { get; }

    /// <summary>The extensions' names (permissions such as <c>permit-pty</c>).</summary>
    public IReadOnlyList<string> Extensions { get; }

    /// <summary>The authority that signed it.</summary>
    public SshPublicKey Authority { get; }

    /// <summary>Whether a key type (or user authentication algorithm) names a certificate.</summary>
    public static bool IsCertificateAlgorithm(string algorithm) => algorithm.EndsWith(Suffix, StringComparison.Ordinal);

    /// <summary>The signature algorithm a certificate algorithm signs with (<c>rsa-sha2-512-cert-v01@openssh.com</c> gives <c>rsa-sha2-512</c>).</summary>
    public static string SignatureAlgorithmOf(string certificateAlgorithm) => certificateAlgorithm[..^Suffix.Length];

    /// <summary>
    /// Reads a certificate from its wire format and checks the authority's signature; a malformed certificate, an
    /// unsupported key type or a signature that does not verify throws <see cref="FormatException"/>.
    /// </summary>
    public static SshCertificate Parse(ReadOnlySpan<byte> blob)
    {
        try
        {
            var reader = new SshReader(blob);
            string certificateType = reader.ReadAscii();
            if (!IsCertificateAlgorithm(certificateType))
            {
                throw new FormatException($"{certificateType} is not a certificate type");
            }
            string keyType = SignatureAlgorithmOf(certificateType);
            reader.ReadString(); // nonce
            using var key = new SshWriter(600);
            key.String(keyType);
            switch (keyType)
            {
                case SshPublicKey.Ed25519:
                    key.String(reader.ReadString());
                    break;
                case SshPublicKey.EcdsaP256:
                    key.String(reader.ReadString()).String(reader.ReadString());
                    break;
                case SshPublicKey.Rsa:
                    var e = reader.ReadPositiveMpint();
                    var n = reader.ReadPositiveMpint();
                    key.Mpint(e).Mpint(n);
                    break;
                default:
                    throw new FormatException($"unsupported certificate key type {keyType}");
            }
            var certified = SshPublicKey.Parse(key.Written);
            ulong serial = reader.ReadUInt64();
            uint type = reader.ReadUInt32();
            string keyId = reader.ReadUtf8();
            var principals = new List<string>();
            var principalReader = new SshReader(reader.ReadString());
            while (principalReader.Remaining > 0)
            {
                principals.Add(principalReader.ReadUtf8());
            }
            ulong validAfter = reader.ReadUInt64();
            ulong validBefore = reader.ReadUInt64();
            var critical = new Dictionary<string, string>(StringComparer.Ordinal);
            var criticalReader = new SshReader(reader.ReadString());
            while (criticalReader.Remaining > 0)
            {
                string name = criticalReader.ReadAscii();
                var data = criticalReader.ReadString();
                // The option's value is itself a string inside the data (empty data: no value).
                string value = data.IsEmpty ? "" : new SshReader(data).ReadUtf8();
                if (!critical.TryAdd(name, value))
                {
                    throw new FormatException($"critical option {name} appears twice");
                }
            }
            var extensions = new List<string>();
            var extensionReader = new SshReader(reader.ReadString());
            while (extensionReader.Remaining > 0)
            {
                extensions.Add(extensionReader.ReadAscii());
                extensionReader.ReadString();
            }
            reader.ReadString(); // reserved
            var authority = SshPublicKey.Parse(reader.ReadString());
            int signed = reader.Position;
            var signature = reader.ReadString();
            reader.EnsureEnd();
            string signatureAlgorithm = new SshReader(signature).ReadAscii();
            if (!authority.Verify(signatureAlgorithm, blob[..signed], signature))
            {
                throw new FormatException("the certificate's signature does not verify");
            }
            return new SshCertificate(certificateType, certified, serial, type, keyId, principals, validAfter, validBefore, critical, extensions, authority);
        }
        catch (SshProtocolException e)
        {
            throw new FormatException("a malformed certificate: " + e.Message, e);
        }
    }

    /// <summary>
    /// Why this certificate cannot log in a user now from <paramref name="client"/>, or null when it can: it must be a
    /// user certificate, inside its validity period, with only the critical options Wire enforces (<c>force-command</c>,
    /// and <c>source-address</c>, which must list the client's address).
    /// </summary>
    public string? RefusalForUser(DateTimeOffset now, IPAddress? client)
    {
        if (Type != UserType)
        {
            return "not a user certificate";
        }
        ulong seconds = (ulong)Math.Max(0, now.ToUnixTimeSeconds());
        if (seconds < ValidAfter || seconds >= ValidBefore)
        {
            return "outside its validity period";
        }
        foreach (var (name, value) in CriticalOptions)
        {
            switch (name)
            {
                case "force-command":
                    break;
                case "source-address":
                    if (client is null || !value.Split(',').Any(range => InRange(range.Trim(), client)))
                    {
                        return "the client's address is not in its source-address";
                    }
                    break;
                default:
                    return $"unknown critical option {name}";
            }
        }
        return null;
    }

    /// <summary>The command the certificate forces, if any.</summary>
    public string? ForceCommand => CriticalOptions.TryGetValue("force-command", out var command) ? command : null;

    private static bool InRange(string range, IPAddress client)
    {
        if (client.IsIPv4MappedToIPv6)
        {
            client = client.MapToIPv4();
        }
        if (range.Contains('/'))
        {
            return IPNetwork.TryParse(range, out var network) && network.Contains(client);
        }
        return IPAddress.TryParse(range, out var address) && address.Equals(client);
    }
}
