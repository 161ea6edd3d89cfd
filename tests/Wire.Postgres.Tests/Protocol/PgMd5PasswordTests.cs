using System.Security.Cryptography;
using System.Text;
using Wire.Postgres.Protocol;

namespace Wire.Postgres.Tests.Protocol;

public sealed class PgMd5PasswordTests
{
    [Theory]
    [InlineData("postgres", "postgres", new byte[] { 1, 2, 3, 4 }, "md568be9ed08db75f318087ab337aaea044")]
    [InlineData("jürgen", "pässwörd", new byte[] { 0xDE, 0xAD, 0xBE, 0xEF }, "md5aae7104c69c2981684fe7d3a7c824ea0")]
    public void Matches_known_answers(string user, string password, byte[] salt, string expected)
    {
        // Values computed outside .NET (Python hashlib).
        Assert.Equal(expected, PgMd5Password.Compute(user, password, salt));
    }

    [Theory]
    [InlineData("alice", "secret", new byte[] { 0, 0, 0, 0 })]
    [InlineData("bob", "", new byte[] { 0xFF, 0x00, 0x7F, 0x80 })]
    [InlineData("", "p", new byte[] { 9, 8, 7, 6 })]
    [InlineData("ünï", "✓🚫", new byte[] { 0x30, 0x31, 0x32, 0x33 })]
    public void Matches_the_protocol_formula(string user, string password, byte[] salt)
    {
        // "md5" + md5hex(md5hex(password + user) + salt), with lowercase hex digests.
        using var md5 = MD5.Create();
        string inner = Hex(md5.ComputeHash(Encoding.UTF8.GetBytes(password + user)));
        byte[] outer = [.. Encoding.ASCII.GetBytes(inner), .. salt];
        string expected = "md5" + Hex(md5.ComputeHash(outer));

        string actual = PgMd5Password.Compute(user, password, salt);
        Assert.Equal(expected, actual);
        Assert.Equal(35, actual.Length);
    }

    private static string Hex(byte[] bytes)
    {
        var builder = new StringBuilder(bytes.Length * 2);
        foreach (byte b in bytes)
        {
            builder.Append("0123456789abcdef"[b >> 4]).Append("0123456789abcdef"[b & 0xF]);
        }

        return builder.ToString();
    }
}
