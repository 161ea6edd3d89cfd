using System.Diagnostics;
using System.Globalization;
using System.Text;
using Wire.Ssh.Keys;
using Wire.Ssh.Protocol;

namespace Wire.Ssh.Tests.Keys;

/// <summary>The real <c>ssh-keygen</c>, run in a temporary directory that is deleted on dispose.</summary>
public sealed class SshKeygen : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("wire-ssh-keys-").FullName;

    public string PathOf(string name) => Path.Combine(Root, name);

    /// <summary>Runs ssh-keygen; its standard output, or an exception with its error output when it fails.</summary>
    public static string Run(params string[] args)
    {
        var info = new ProcessStartInfo("ssh-keygen")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"ssh-keygen {string.Join(' ', args)} failed ({process.ExitCode}): {error.Result}");
        }
        return output;
    }

    /// <summary>Generates a key file <paramref name="name"/> (and <c>name.pub</c>); its path.</summary>
    public string Generate(string name, string type, int bits = 0, string passphrase = "", string? format = null, string comment = "comment")
    {
        string path = PathOf(name);
        var args = new List<string> { "-q", "-t", type, "-N", passphrase, "-C", comment, "-f", path };
        if (bits > 0)
        {
            args.AddRange(["-b", bits.ToString(CultureInfo.InvariantCulture)]);
        }
        if (format is not null)
        {
            args.AddRange(["-m", format]);
        }
        Run([.. args]);
        return path;
    }

    /// <summary>The public key of <c>name.pub</c>.</summary>
    public SshPublicKey PublicKey(string name) =>
        SshPublicKey.Parse(Convert.FromBase64String(File.ReadAllText(PathOf(name + ".pub")).Split(' ')[1]));

    /// <summary>The first line of <c>name.pub</c> (<c>type base64 comment</c>).</summary>
    public string PublicLine(string name) => File.ReadAllText(PathOf(name + ".pub")).TrimEnd();

    /// <summary>ssh-keygen's SHA-256 fingerprint of <c>name.pub</c>.</summary>
    public string Fingerprint(string name) => Run("-l", "-E", "sha256", "-f", PathOf(name + ".pub")).Split(' ')[1];

    /// <summary>Writes <paramref name="text"/> as a private key file ssh-keygen accepts (mode 600); its path.</summary>
    public string WritePrivate(string name, string text)
    {
        string path = PathOf(name);
        File.WriteAllText(path, text);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return path;
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>One key of each supported type made by ssh-keygen in the OpenSSH format: <c>ed25519</c>, <c>ecdsa</c>, <c>rsa</c>.</summary>
public sealed class GeneratedKeys : IDisposable
{
    public GeneratedKeys()
    {
        Tool.Generate("ed25519", "ed25519");
        Tool.Generate("ecdsa", "ecdsa", 256);
        Tool.Generate("rsa", "rsa", 3072);
    }

    public SshKeygen Tool { get; } = new();

    public string Text(string name) => File.ReadAllText(Tool.PathOf(name));

    public void Dispose() => Tool.Dispose();
}

public sealed class OpenSshKeyFileTests(GeneratedKeys keys) : IClassFixture<GeneratedKeys>
{
    private static readonly byte[] Data = Encoding.UTF8.GetBytes("data to sign");

    public static TheoryData<string, string> Types => new()
    {
        { "ed25519", SshPublicKey.Ed25519 },
        { "ecdsa", SshPublicKey.EcdsaP256 },
        { "rsa", SshPublicKey.Rsa },
    };

    [Theory]
    [MemberData(nameof(Types))]
    public void A_key_made_by_ssh_keygen_has_its_public_key_and_fingerprint(string name, string type)
    {
        using var key = OpenSshKeyFile.Parse(keys.Text(name));
        Assert.Equal(type, key.KeyType);
        Assert.Equal(keys.Tool.PublicKey(name), key.PublicKey);
        Assert.Equal(keys.Tool.Fingerprint(name), key.PublicKey.Fingerprint);
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void A_parsed_key_signs_what_its_public_key_verifies(string name, string type)
    {
        using var key = OpenSshKeyFile.Parse(keys.Text(name));
        var publicKey = keys.Tool.PublicKey(name);
        if (type == SshPublicKey.Rsa)
        {
            Assert.Equal(new[] { SshPublicKey.RsaSha512, SshPublicKey.RsaSha256 }, key.SignatureAlgorithms);
        }
        foreach (var algorithm in key.SignatureAlgorithms)
        {
            var signature = key.Sign(algorithm, Data);
            Assert.True(publicKey.Verify(algorithm, Data, signature), algorithm);
            Assert.False(publicKey.Verify(algorithm, "other data"u8, signature), algorithm);
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void A_written_key_is_read_by_ssh_keygen(string name, string type)
    {
        using var key = OpenSshKeyFile.Parse(keys.Text(name));
        string path = keys.Tool.WritePrivate(name + ".written", OpenSshKeyFile.Write(key, "written by wire"));
        Assert.Equal(key.PublicKey.ToOpenSshString("written by wire"), SshKeygen.Run("-y", "-f", path).TrimEnd());
        Assert.StartsWith(type + " ", SshKeygen.Run("-y", "-f", path));
    }

    [Theory]
    [InlineData(SshPublicKey.Ed25519)]
    [InlineData(SshPublicKey.EcdsaP256)]
    [InlineData(SshPublicKey.Rsa)]
    public void A_generated_key_is_written_for_ssh_keygen_and_read_back(string type)
    {
        using var key = SshPrivateKey.Generate(type);
        string text = OpenSshKeyFile.Write(key);
        using var tool = new SshKeygen();
        string path = tool.WritePrivate("key", text);
        Assert.Equal(key.PublicKey.ToOpenSshString(), SshKeygen.Run("-y", "-f", path).TrimEnd());
        // ssh-keygen -p rewrites the file (fully decoding it first); the rewritten file still reads back to the same key.
        SshKeygen.Run("-p", "-P", "", "-N", "", "-f", path);
        using var rewritten = OpenSshKeyFile.Parse(File.ReadAllText(path));
        Assert.Equal(key.PublicKey, rewritten.PublicKey);

        using var back = OpenSshKeyFile.Parse(text);
        Assert.Equal(key.PublicKey, back.PublicKey);
        var signature = back.Sign(type == SshPublicKey.Rsa ? SshPublicKey.RsaSha256 : type, Data);
        Assert.True(key.PublicKey.Verify(type == SshPublicKey.Rsa ? SshPublicKey.RsaSha256 : type, Data, signature));
    }

    [Fact]
    public void The_written_file_is_wrapped_at_70_columns_and_ends_in_a_newline()
    {
        using var key = SshPrivateKey.Generate(SshPublicKey.Ed25519);
        string text = OpenSshKeyFile.Write(key, "c");
        Assert.StartsWith("-----BEGIN OPENSSH PRIVATE KEY-----\n", text);
        Assert.EndsWith("\n-----END OPENSSH PRIVATE KEY-----\n", text);
        var lines = text.TrimEnd('\n').Split('\n');
        Assert.All(lines[1..^1], line => Assert.InRange(line.Length, 1, 70));
        Assert.All(lines[1..^2], line => Assert.Equal(70, line.Length));
        // Random check integers: the same key writes differently each time.
        Assert.NotEqual(text, OpenSshKeyFile.Write(key, "c"));
    }

    [Theory]
    [InlineData("ed25519", 0, null)]
    [InlineData("ecdsa", 256, null)]
    [InlineData("rsa", 2048, "PEM")]
    [InlineData("ecdsa", 256, "PEM")]
    [InlineData("rsa", 2048, "PKCS8")]
    [InlineData("ecdsa", 256, "PKCS8")]
    public void An_encrypted_key_is_refused_with_advice_to_remove_the_passphrase(string type, int bits, string? format)
    {
        using var tool = new SshKeygen();
        string path = tool.Generate("key", type, bits, passphrase: "secret", format: format);
        var e = Assert.Throws<FormatException>(() => OpenSshKeyFile.Parse(File.ReadAllText(path)));
        Assert.Contains("passphrase", e.Message);
        Assert.Contains("ssh-keygen -p", e.Message);
    }

    [Theory]
    [InlineData("rsa", 2048, "PEM", "RSA PRIVATE KEY")]
    [InlineData("ecdsa", 256, "PEM", "EC PRIVATE KEY")]
    [InlineData("rsa", 2048, "PKCS8", "PRIVATE KEY")]
    [InlineData("ecdsa", 256, "PKCS8", "PRIVATE KEY")]
    public void A_pem_key_made_by_ssh_keygen_is_read(string type, int bits, string format, string label)
    {
        using var tool = new SshKeygen();
        string path = tool.Generate("key", type, bits, format: format);
        string text = File.ReadAllText(path);
        Assert.StartsWith($"-----BEGIN {label}-----", text);
        using var key = OpenSshKeyFile.Parse(text);
        Assert.Equal(tool.PublicKey("key"), key.PublicKey);
        var signature = key.Sign(key.SignatureAlgorithms[0], Data);
        Assert.True(tool.PublicKey("key").Verify(key.SignatureAlgorithms[0], Data, signature));

        // Converted to the OpenSSH format, ssh-keygen still sees the same key.
        string written = tool.WritePrivate("written", OpenSshKeyFile.Write(key));
        Assert.Equal(key.PublicKey.ToOpenSshString(), SshKeygen.Run("-y", "-f", written).TrimEnd());
    }

    [Theory]
    [InlineData("ecdsa", 384, null, "unsupported key type ecdsa-sha2-nistp384")]
    [InlineData("ecdsa", 384, "PEM", "P-256")]
    [InlineData("ecdsa", 521, "PKCS8", "P-256")]
    [InlineData("rsa", 1024, null, "2048")]
    [InlineData("rsa", 1024, "PEM", "2048")]
    public void An_unsupported_key_is_refused(string type, int bits, string? format, string message)
    {
        using var tool = new SshKeygen();
        string path = tool.Generate("key", type, bits, format: format);
        var e = Assert.Throws<FormatException>(() => OpenSshKeyFile.Parse(File.ReadAllText(path)));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void An_ed25519_pkcs8_key_is_refused()
    {
        if (!File.Exists("/usr/bin/openssl"))
        {
            return;
        }
        var info = new ProcessStartInfo("openssl") { RedirectStandardOutput = true, ArgumentList = { "genpkey", "-algorithm", "ed25519" } };
        using var process = Process.Start(info)!;
        string pem = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", pem);
        var e = Assert.Throws<FormatException>(() => OpenSshKeyFile.Parse(pem));
        Assert.Contains("PKCS#8", e.Message);
    }

    [Fact]
    public void An_openssl_ec_key_with_its_parameters_block_is_read()
    {
        if (!File.Exists("/usr/bin/openssl"))
        {
            return;
        }
        var info = new ProcessStartInfo("openssl") { RedirectStandardOutput = true, ArgumentList = { "ecparam", "-name", "prime256v1", "-genkey" } };
        using var process = Process.Start(info)!;
        string pem = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.StartsWith("-----BEGIN EC PARAMETERS-----", pem);
        using var key = OpenSshKeyFile.Parse(pem);
        Assert.Equal(SshPublicKey.EcdsaP256, key.KeyType);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n")]
    [InlineData("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIJejHwrqmspAzurDfCzATD82Cc9/JjbHNFSIblllpoW comment")]
    [InlineData("-----BEGIN OPENSSH PRIVATE KEY-----\n")]
    [InlineData("-----BEGIN OPENSSH PRIVATE KEY-----\n-----END OPENSSH PRIVATE KEY-----\n")]
    [InlineData("-----BEGIN OPENSSH PRIVATE KEY-----\n!!!!\n-----END OPENSSH PRIVATE KEY-----\n")]
    [InlineData("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n")]
    [InlineData("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA\n-----END OPENSSH PRIVATE KEY-----\n")]
    [InlineData("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n")]
    [InlineData("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")]
    [InlineData("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n")]
    [InlineData("-----BEGIN EC PRIVATE KEY-----\nMAA=\n-----END EC PRIVATE KEY-----\n")]
    [InlineData("-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n")]
    [InlineData("-----BEGIN RSA PRIVATE KEY-----\nHeader: value\n\nAAAA\n-----END RSA PRIVATE KEY-----\n")]
    [InlineData("-----BEGIN \n-----END \n")]
    public void Garbage_is_refused_with_FormatException(string text) => AssertRefused(text, "");

    [Theory]
    [MemberData(nameof(Types))]
    public void Every_truncation_of_a_key_file_is_refused(string name, string type)
    {
        string text = keys.Text(name).TrimEnd();
        using (var key = OpenSshKeyFile.Parse(text))
        {
            Assert.Equal(type, key.KeyType);
        }
        for (int length = 0; length < text.Length; length++)
        {
            AssertRefused(text[..length], $"truncated to {length} characters");
        }
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Every_truncation_of_the_binary_is_refused(string name, string type)
    {
        var data = Binary(keys.Text(name));
        for (int length = 0; length < data.Length; length++)
        {
            AssertRefused(Armor(data.AsSpan(0, length)), $"{type} truncated to {length} bytes");
        }
        // Bytes beyond the private section are refused too.
        AssertRefused(Armor([.. data, 0]), "a trailing byte");
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Every_bit_flip_is_refused_or_leaves_the_key_unchanged(string name, string type)
    {
        var expected = keys.Tool.PublicKey(name);
        var data = Binary(keys.Text(name));
        int accepted = 0;
        for (int i = 0; i < data.Length; i++)
        {
            foreach (byte mask in new byte[] { 0x01, 0x80 })
            {
                var garbled = data.ToArray();
                garbled[i] ^= mask;
                var e = Record.Exception(() =>
                {
                    using var key = OpenSshKeyFile.Parse(Armor(garbled));
                    Assert.Equal(expected, key.PublicKey);
                    accepted++;
                });
                Assert.True(e is null or FormatException, $"{type}, byte {i} ^ {mask}: {e}");
            }
        }
        // Only the comment ("comment", 7 bytes) may change without the file being refused.
        Assert.Equal(2 * "comment".Length, accepted);
    }

    [Fact]
    public void A_public_key_that_is_not_the_private_keys_is_refused()
    {
        using var a = SshPrivateKey.Generate(SshPublicKey.Ed25519);
        using var b = SshPrivateKey.Generate(SshPublicKey.Ed25519);
        var file = Fields(Binary(OpenSshKeyFile.Write(a)));
        var e = Assert.Throws<FormatException>(() => OpenSshKeyFile.Parse(Rebuild(file with { PublicBlob = b.PublicKey.Blob.ToArray() })));
        Assert.Contains("does not match", e.Message);
    }

    [Fact]
    public void The_structure_of_the_private_section_is_checked()
    {
        using var key = SshPrivateKey.Generate(SshPublicKey.Ed25519);
        // An empty comment leaves 5 bytes of padding: 8 + (4 + 11) + (4 + 32) + (4 + 64) + 4 = 131.
        var file = Fields(Binary(OpenSshKeyFile.Write(key)));
        Assert.Equal(136, file.Section.Length);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, file.Section[^5..]);
        using (OpenSshKeyFile.Parse(Rebuild(file)))
        {
        }

        var badPadding = file.Section.ToArray();
        badPadding[^1] = 0;
        Assert.Contains("padding", Refused(file with { Section = badPadding }));
        Assert.Contains("multiple of 8", Refused(file with { Section = [.. file.Section, 6] }));
        var badCheck = file.Section.ToArray();
        badCheck[0] ^= 1;
        Assert.Contains("check integers", Refused(file with { Section = badCheck }));
        Assert.Contains("exactly one key", Refused(file with { Count = 2 }));
        Assert.Contains("exactly one key", Refused(file with { Count = 0 }));
        Assert.Contains("passphrase", Refused(file with { Cipher = "aes256-ctr", Kdf = "bcrypt" }));
        Assert.Contains("key derivation", Refused(file with { Kdf = "bcrypt" }));

        // The private part must end with the public key.
        var section = file.Section.ToArray();
        section[8 + 15 + 36 + 4 + 32] ^= 1;
        Assert.Contains("does not end with its public key", Refused(file with { Section = section }));
    }

    private static string Refused(KeyFileFields file) => Assert.Throws<FormatException>(() => OpenSshKeyFile.Parse(Rebuild(file))).Message;

    private static void AssertRefused(string text, string what)
    {
        var e = Record.Exception(() => OpenSshKeyFile.Parse(text).Dispose());
        Assert.True(e is FormatException, $"{what}: {e?.ToString() ?? "accepted"}");
    }

    internal static byte[] Binary(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return Convert.FromBase64String(string.Concat(lines[1..^1]));
    }

    internal static string Armor(ReadOnlySpan<byte> data) =>
        "-----BEGIN OPENSSH PRIVATE KEY-----\n" + Convert.ToBase64String(data, Base64FormattingOptions.InsertLineBreaks) + "\n-----END OPENSSH PRIVATE KEY-----\n";

    private sealed record KeyFileFields(string Cipher, string Kdf, uint Count, byte[] PublicBlob, byte[] Section);

    private static KeyFileFields Fields(byte[] data)
    {
        var reader = new SshReader(data.AsSpan(15));
        string cipher = reader.ReadAscii();
        string kdf = reader.ReadAscii();
        reader.ReadString();
        uint count = reader.ReadUInt32();
        var publicBlob = reader.ReadString().ToArray();
        var section = reader.ReadString().ToArray();
        reader.EnsureEnd();
        return new KeyFileFields(cipher, kdf, count, publicBlob, section);
    }

    private static string Rebuild(KeyFileFields file)
    {
        using var writer = new SshWriter();
        writer.Raw("openssh-key-v1\0"u8).String(file.Cipher).String(file.Kdf).String(""u8).UInt32(file.Count).String(file.PublicBlob).String(file.Section);
        return Armor(writer.Written);
    }
}
