using Wire.Enforcement.Identity;
using Wire.Ssh.Keys;

namespace Wire.Ssh.Authentication;

/// <summary>
/// Decides who a client is (the server role's user authentication, RFC 4252): by a public key it holds, or by a token
/// it types at the password or keyboard-interactive prompt. The SSH user name is passed as the client sent it
/// (<c>subject+target</c>); the authenticator checks the subject part against the identity it finds.
/// </summary>
public interface ISshUserAuthenticator
{
    /// <summary>
    /// The identity a key stands for under <paramref name="userName"/>, or null when the key is not acceptable. Called
    /// before the client proves it holds the key (a query) and again after the signature verified.
    /// </summary>
    WireIdentity? FindByPublicKey(string userName, SshPublicKey key);

    /// <summary>
    /// The identity an OpenSSH user certificate stands for under <paramref name="userName"/>, or null: its authority must
    /// be trusted and its principals must name the subject. The certificate's signature, type, validity and critical
    /// options were checked already. By default no certificate is accepted.
    /// </summary>
    WireIdentity? FindByCertificate(string userName, SshCertificate certificate) => null;

    /// <summary>The identity a token proves under <paramref name="userName"/>, or a failure with its reason.</summary>
    ValueTask<IdentityValidationResult> ValidateTokenAsync(string userName, string token, CancellationToken cancellationToken);
}
