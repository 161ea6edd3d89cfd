using Wire.Ssh.Keys;

namespace Wire.Ssh.Tests.Infrastructure;

/// <summary>Host keys generated once per test run (RSA generation is slow).</summary>
internal static class SshKeys
{
    private static readonly Lazy<SshPrivateKey> LazyEd25519 = new(() => SshPrivateKey.Generate(SshPublicKey.Ed25519));
    private static readonly Lazy<SshPrivateKey> LazyEcdsa = new(() => SshPrivateKey.Generate(SshPublicKey.EcdsaP256));
    private static readonly Lazy<SshPrivateKey> LazyRsa = new(() => SshPrivateKey.Generate(SshPublicKey.Rsa));

    public static SshPrivateKey Ed25519 => LazyEd25519.Value;

    public static SshPrivateKey Ecdsa => LazyEcdsa.Value;

    public static SshPrivateKey Rsa => LazyRsa.Value;

    public static IReadOnlyList<SshPrivateKey> All => [Ed25519, Ecdsa, Rsa];
}
