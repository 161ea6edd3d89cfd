namespace Wire.Hosting.Configuration;

/// <summary>A user from <c>identity.users</c>: a subject, its groups and the SSH public keys it may log in with.</summary>
/// <param name="Subject">The identity's subject.</param>
/// <param name="Groups">The identity's groups.</param>
/// <param name="SshKeys">OpenSSH <c>authorized_keys</c> lines (options allowed), as written in the config.</param>
internal sealed record ConfiguredUser(string Subject, IReadOnlyList<string> Groups, IReadOnlyList<string> SshKeys);

/// <summary>The users and SSH certificate authorities of the config in force, swapped whole when <c>identity</c> reloads.</summary>
internal sealed class ConfiguredUsers(IReadOnlyList<ConfiguredUser> initial, IReadOnlyList<string>? certificateAuthorities = null)
{
    private Snapshot _current = new(initial, certificateAuthorities ?? []);

    public IReadOnlyList<ConfiguredUser> Current => Volatile.Read(ref _current).Users;

    /// <summary><c>identity.sshCa</c>: OpenSSH public key lines of the authorities whose user certificates log in.</summary>
    public IReadOnlyList<string> CertificateAuthorities => Volatile.Read(ref _current).Authorities;

    public void Update(IReadOnlyList<ConfiguredUser> users, IReadOnlyList<string> certificateAuthorities) =>
        Volatile.Write(ref _current, new Snapshot(users, certificateAuthorities));

    private sealed record Snapshot(IReadOnlyList<ConfiguredUser> Users, IReadOnlyList<string> Authorities);
}
