using Wire.Enforcement.Identity;
using Wire.Ssh.Authentication;
using Wire.Ssh.Keys;

namespace Wire.Ssh.Tests.Infrastructure;

/// <summary>One subject with some keys and one token; the user name must be that subject, optionally with +target.</summary>
internal sealed class TestAuthenticator(string subject, IReadOnlyList<SshPublicKey> keys, string token) : ISshUserAuthenticator
{
    private bool NamesSubject(string userName)
    {
        int plus = userName.LastIndexOf('+');
        return (plus < 0 ? userName : userName[..plus]) == subject;
    }

    public WireIdentity? FindByPublicKey(string userName, SshPublicKey key) =>
        NamesSubject(userName) && keys.Contains(key) ? new WireIdentity(subject, ["dev"], "ssh-key") : null;

    public ValueTask<IdentityValidationResult> ValidateTokenAsync(string userName, string presented, CancellationToken cancellationToken) =>
        ValueTask.FromResult(NamesSubject(userName) && presented == token
            ? IdentityValidationResult.Success(new WireIdentity(subject, ["dev"], "static-token"))
            : IdentityValidationResult.Failure("bad token"));
}
