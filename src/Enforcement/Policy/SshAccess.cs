namespace Wire.Enforcement.Policy;

/// <summary>
/// The facts about one SSH action that the SSH rule keys match on: what it opens or asks for (<c>channels</c>), the
/// command line it runs (<c>commands</c>) and where a forward goes (<c>forwards</c>).
/// </summary>
/// <param name="Channel">
/// What the client asks for: <c>exec</c>, <c>shell</c>, <c>subsystem</c>, <c>pty</c>, <c>x11</c>, <c>agent</c> (requests
/// on a session), <c>direct-tcpip</c>, <c>direct-streamlocal</c> (channels it opens), <c>tcpip-forward</c>,
/// <c>streamlocal-forward</c> (listeners it asks the target for).
/// </param>
/// <param name="Command">The command line of an exec or of a line typed in a shell, the name of a subsystem; else null.</param>
/// <param name="Destination">Where a forward goes or listens: <c>host:port</c> (<c>[v6]:port</c>) or a socket path; else null.</param>
public sealed record SshAccess(string Channel, string? Command, string? Destination)
{
    /// <summary>The channel kinds rules may name in <c>channels</c>.</summary>
    public static IReadOnlyList<string> Channels { get; } =
        ["exec", "shell", "subsystem", "pty", "x11", "agent", "direct-tcpip", "direct-streamlocal", "tcpip-forward", "streamlocal-forward"];

    /// <summary>
    /// A line typed in an interactive shell (reconstructed from keystrokes) rather than a request: only rules with
    /// <c>commands</c> or <c>pattern</c> judge it, so a rule about opening shells does not fire again for every line.
    /// </summary>
    public bool Typed { get; init; }
}
