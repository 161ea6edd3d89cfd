using Wire.Ssh.Transport;

namespace Wire.Ssh.Tests.Transport;

/// <summary>AES-CTR against the NIST SP 800-38A vectors (F.5.1, F.5.5), across any split of the stream.</summary>
public sealed class SshAesCtrTests
{
    private const string Counter = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

    private const string Plaintext =
        "6bc1bee22e409f96e93d7e117393172a" + "ae2d8a571e03ac9c9eb76fac45af8e51" + "30c81c46a35ce411e5fbc1191a0a52ef" + "f69f2445df4f9b17ad2b417be66c3710";

    public static TheoryData<string, string> Vectors => new()
    {
        {
            "2b7e151628aed2a6abf7158809cf4f3c",
            "874d6191b620e3261bef6864990db6ce" + "9806f66b7970fdff8617187bb9fffdff" + "5ae4df3edbd5d35e5b4f09020db03eab" + "1e031dda2fbe03d1792170a0f3009cee"
        },
        {
            "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
            "601ec313775789a5b7a7f504bbf3d228" + "f443e3ca4d62b59aca84e990cacaf5c5" + "2b0930daa23de94ce87017ba2d84988d" + "dfc9c58db67aada613c2dd08457941a6"
        },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Encrypts_the_sp800_38a_vectors_whatever_the_split(string key, string expected)
    {
        foreach (int piece in new[] { 64, 1, 3, 15, 16, 17, 33 })
        {
            using var ctr = new SshAesCtr(Convert.FromHexString(key), Convert.FromHexString(Counter));
            byte[] data = Convert.FromHexString(Plaintext);
            for (int offset = 0; offset < data.Length; offset += piece)
            {
                ctr.Transform(data.AsSpan(offset, Math.Min(piece, data.Length - offset)));
            }
            Assert.Equal(expected, Convert.ToHexStringLower(data));
        }
    }

    [Fact]
    public void Decrypting_is_encrypting_again_and_the_counter_wraps_at_128_bits()
    {
        byte[] key = Convert.FromHexString("2b7e151628aed2a6abf7158809cf4f3c");
        byte[] iv = Convert.FromHexString("ffffffffffffffffffffffffffffffff");
        byte[] data = new byte[10_000];
        new Random(7).NextBytes(data);
        byte[] copy = data.ToArray();
        using (var encrypt = new SshAesCtr(key, iv))
        {
            encrypt.Transform(data);
        }
        Assert.NotEqual(copy, data);
        using (var decrypt = new SshAesCtr(key, iv))
        {
            decrypt.Transform(data.AsSpan(0, 5));
            decrypt.Transform(data.AsSpan(5));
        }
        Assert.Equal(copy, data);

        // The second block's counter is the first's plus one, modulo 2^128: all zeros.
        byte[] block = new byte[32];
        using var check = new SshAesCtr(key, iv);
        check.Transform(block);
        using var aes = System.Security.Cryptography.Aes.Create();
        aes.Key = key;
        byte[] zeros = aes.EncryptEcb(new byte[16], System.Security.Cryptography.PaddingMode.None);
        Assert.Equal(zeros, block[16..]);
    }
}
