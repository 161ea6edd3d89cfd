using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Wire.Postgres.Protocol;

/// <summary>
/// Caches SCRAM SaltedPassword values: PBKDF2 with 4096 rounds costs about a millisecond of CPU per
/// login, and the (password, salt, iterations) triple of a role only changes when its password does.
/// Keys are hashes, so the cache holds no password.
/// </summary>
internal static class PgScramKeyCache
{
    private const int MaxEntries = 256;
    private static readonly ConcurrentDictionary<string, byte[]> Cache = new(StringComparer.Ordinal);

    public static byte[] SaltedPassword(string password, byte[] salt, int iterations)
    {
        byte[] passwordBytes = Encoding.UTF8.GetBytes(password);
        byte[] keyMaterial = new byte[passwordBytes.Length + salt.Length + 4];
        passwordBytes.CopyTo(keyMaterial, 0);
        salt.CopyTo(keyMaterial, passwordBytes.Length);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(keyMaterial.AsSpan(passwordBytes.Length + salt.Length), iterations);
        string key = Convert.ToHexString(SHA256.HashData(keyMaterial));
        CryptographicOperations.ZeroMemory(keyMaterial);

        if (Cache.TryGetValue(key, out var cached))
        {
            CryptographicOperations.ZeroMemory(passwordBytes);
            return cached;
        }

        byte[] salted = Rfc2898DeriveBytes.Pbkdf2(passwordBytes, salt, iterations, HashAlgorithmName.SHA256, 32);
        CryptographicOperations.ZeroMemory(passwordBytes);
        if (Cache.Count >= MaxEntries)
        {
            Cache.Clear();
        }

        Cache[key] = salted;
        return salted;
    }
}
