namespace Wire.Gateway.Configuration;

/// <summary>A user from <c>identity.users</c>: a subject, its groups and the SSH public keys it may log in with.</summary>
/// <param name="Subject">The identity's subject.</param>
/// <param name="Groups">The identity's groups.</param>
/// <param name="SshKeys">OpenSSH <c>authorized_keys</c> lines (options allowed), as written in the config.</param>
internal sealed record ConfiguredUser(string Subject, IReadOnlyList<string> Groups, IReadOnlyList<string> SshKeys);

/// <summary>The users of the config in force, swapped whole when <c>identity</c> reloads.</summary>
internal sealed class ConfiguredUsers(IReadOnlyList<ConfiguredUser> initial)
{
    private IReadOnlyList<ConfiguredUser> _current = initial;

    public IReadOnlyList<ConfiguredUser> Current => Volatile.Read(ref _current);

    public void Update(IReadOnlyList<ConfiguredUser> users) => Volatile.Write(ref _current, users);
}
