using System.Globalization;

namespace Wire.Ssh.Tests.Gateway;

/// <summary>OpenSSH arguments for a client of <c>wire run</c>: a key, no host key checks, one command.</summary>
internal static class WireRunSsh
{
    public static string[] Ssh(int port, string identity, string user, string command) =>
    [
        "-F", "/dev/null", "-p", port.ToString(CultureInfo.InvariantCulture), "-i", identity, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
        $"{user}@127.0.0.1", command,
    ];
}
