using Wire.Enforcement.Identity;
using Wire.Hosting.Configuration;
using Wire.Ssh.Authentication;
using Wire.Ssh.Keys;
using Wire.Ssh.Proxy;

namespace Wire.Hosting.Ssh;

/// <summary>
/// Who an SSH client is, from the gateway's identity config: a key listed in <c>identity.users[].sshKeys</c>, or a token
/// (static or OIDC) typed as the password or at the keyboard-interactive prompt. The user name is
/// <c>subject+target</c>: the subject must be the authenticated one and the target must exist (DESIGN.md §4: an
/// unknown target is an authentication failure). Users and tokens follow identity reloads.
/// </summary>
internal sealed class GatewaySshAuthenticator(SshProxyOptions options, IIdentityValidator tokens, ConfiguredUsers users)
    : ISshUserAuthenticator
{
    public WireIdentity? FindByCertificate(string userName, SshCertificate certificate)
    {
        if (options.TargetFor(userName) is null)
        {
            return null;
        }
        string subject = SshProxyOptions.SubjectOf(userName);
        // A certificate without principals would be valid for every user: never accepted. Its authority must be listed.
        if (!certificate.Principals.Contains(subject) || !IsTrustedAuthority(certificate.Authority))
        {
            return null;
        }
        var groups = users.Current.FirstOrDefault(u => u.Subject == subject)?.Groups ?? [];
        return new WireIdentity(subject, groups, "ssh-certificate");
    }

    private bool IsTrustedAuthority(SshPublicKey authority)
    {
        foreach (var line in users.CertificateAuthorities)
        {
            // identity.sshCa lines are public keys in authorized_keys form (type base64 [comment]).
            try
            {
                if (SshAuthorizedKey.Parse(line).Key.Equals(authority))
                {
                    return true;
                }
            }
            catch (FormatException)
            {
                // A key type Wire does not use: it cannot have signed a certificate Wire accepts.
            }
        }
        return false;
    }

    public WireIdentity? FindByPublicKey(string userName, SshPublicKey key)
    {
        if (options.TargetFor(userName) is null)
        {
            return null;
        }
        string subject = SshProxyOptions.SubjectOf(userName);
        foreach (var user in users.Current)
        {
            if (user.Subject != subject)
            {
                continue;
            }
            foreach (var line in user.SshKeys)
            {
                SshAuthorizedKey authorized;
                try
                {
                    authorized = SshAuthorizedKey.Parse(line);
                }
                catch (FormatException)
                {
                    continue;
                }
                // Options (from=, command=, ...) would restrict the key: Wire does not enforce them yet, so such a key is
                // not accepted rather than accepted without its restrictions (docs/ssh.md).
                if (authorized.Options.Count == 0 && authorized.Key.Equals(key))
                {
                    return new WireIdentity(subject, user.Groups, "ssh-key");
                }
            }
        }
        return null;
    }

    public async ValueTask<IdentityValidationResult> ValidateTokenAsync(string userName, string token, CancellationToken cancellationToken)
    {
        if (options.TargetFor(userName) is null)
        {
            return IdentityValidationResult.Failure("no such target");
        }
        var result = await tokens.ValidateAsync(token, cancellationToken).ConfigureAwait(false);
        if (result.Identity is { } identity && identity.Subject != SshProxyOptions.SubjectOf(userName))
        {
            return IdentityValidationResult.Failure("the user name names another subject");
        }
        return result;
    }
}
