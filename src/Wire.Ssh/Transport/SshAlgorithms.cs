using System.Security.Cryptography;

namespace Wire.Ssh.Transport;

/// <summary>The algorithms Wire speaks, in its order of preference, and what each needs.</summary>
internal static class SshAlgorithms
{
    public const string Curve25519 = "curve25519-sha256";
    public const string Curve25519LibSsh = "curve25519-sha256@libssh.org";
    public const string EcdhP256 = "ecdh-sha2-nistp256";
    public const string StrictClient = "kex-strict-c-v00@openssh.com";
    public const string StrictServer = "kex-strict-s-v00@openssh.com";
    public const string ExtInfoClient = "ext-info-c";
    public const string ExtInfoServer = "ext-info-s";

    public const string Aes128Gcm = "aes128-gcm@openssh.com";
    public const string Aes256Gcm = "aes256-gcm@openssh.com";
    public const string Aes128Ctr = "aes128-ctr";
    public const string Aes256Ctr = "aes256-ctr";
    public const string HmacSha256Etm = "hmac-sha2-256-etm@openssh.com";
    public const string HmacSha512Etm = "hmac-sha2-512-etm@openssh.com";

    public static readonly string[] KeyExchange = [Curve25519, Curve25519LibSsh, EcdhP256];

    public static readonly string[] Ciphers = [Aes128Gcm, Aes256Gcm, Aes128Ctr, Aes256Ctr];

    public static readonly string[] Macs = [HmacSha256Etm, HmacSha512Etm];

    public static readonly string[] Compression = ["none"];

    /// <summary>Host key (signature) algorithms by preference; a side offers those its keys can make.</summary>
    public static readonly string[] HostKeys = ["ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256"];

    public static bool IsAead(string cipher) => cipher is Aes128Gcm or Aes256Gcm;

    public static int KeyLength(string cipher) => cipher is Aes128Gcm or Aes128Ctr ? 16 : 32;

    public static int IvLength(string cipher) => IsAead(cipher) ? 12 : 16;

    public static int MacKeyLength(string mac) => mac == HmacSha512Etm ? 64 : 32;

    public static int MacLength(string mac) => mac == HmacSha512Etm ? 64 : 32;

    public static HashAlgorithmName MacHash(string mac) => mac == HmacSha512Etm ? HashAlgorithmName.SHA512 : HashAlgorithmName.SHA256;
}
