using System.Security.Cryptography;
using System.Text;

namespace Wire.Postgres.Protocol;

/// <summary>The MD5 password answer: <c>"md5" + md5hex(md5hex(password + user) + salt)</c>.</summary>
internal static class PgMd5Password
{
    public static string Compute(string user, string password, ReadOnlySpan<byte> salt)
    {
        string inner = Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(password + user)));
        byte[] outerInput = new byte[inner.Length + salt.Length];
        Encoding.ASCII.GetBytes(inner, outerInput);
        salt.CopyTo(outerInput.AsSpan(inner.Length));
        return "md5" + Convert.ToHexStringLower(MD5.HashData(outerInput));
    }
}
