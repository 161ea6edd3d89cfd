namespace Wire.Enforcement.Policy;

/// <summary>
/// The facts about one execution that statement-level rule keys match on. Who asks, over which protocol and
/// for which target is fixed per session and already applied by <see cref="RuleSet.ForSession"/>. A value type
/// over facts cached at classification, so evaluating a policy allocates nothing.
/// </summary>
/// <param name="Kinds">What the execution does (key <c>statements</c>).</param>
/// <param name="NoWhere">Whether an UPDATE or DELETE in it has no WHERE (key <c>noWhere</c>).</param>
/// <param name="Relations">Relations it reads or writes, <c>schema.name</c> or <c>name</c> (key <c>relations</c>).</param>
/// <param name="Functions">Functions it calls (key <c>functions</c>).</param>
/// <param name="NormalizedText">The normalized command text (key <c>pattern</c>).</param>
public readonly record struct AccessRequest(
    StatementKindSet Kinds,
    bool NoWhere,
    IReadOnlyList<string> Relations,
    IReadOnlyList<string> Functions,
    string NormalizedText)
{
    /// <summary>The HTTP facts (keys <c>methods</c>, <c>hosts</c>, <c>paths</c> and the Kubernetes keys); null for other protocols.</summary>
    public HttpAccess? Http { get; init; }

    /// <summary>The SSH facts (keys <c>channels</c>, <c>commands</c>, <c>forwards</c>); null for other protocols.</summary>
    public SshAccess? Ssh { get; init; }

    /// <summary>
    /// An SSH action: no statement kinds, relations or functions; <c>pattern</c> sees the command (whitespace runs
    /// collapsed), else the destination, else the channel kind.
    /// </summary>
    /// <param name="ssh">The action's facts.</param>
    public static AccessRequest ForSsh(SshAccess ssh)
    {
        ArgumentNullException.ThrowIfNull(ssh);
        return new(StatementKindSet.Empty, false, [], [], ssh.Command is { } command ? CollapseWhitespace(command) : ssh.Destination ?? ssh.Channel)
        {
            Ssh = ssh,
        };
    }

    /// <summary>A command line with each run of whitespace one space, trimmed: what <c>commands</c> and <c>pattern</c> see.</summary>
    internal static string CollapseWhitespace(string text)
    {
        var builder = new System.Text.StringBuilder(text.Length);
        bool space = false;
        foreach (char c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                space = builder.Length > 0;
                continue;
            }
            if (space)
            {
                builder.Append(' ');
                space = false;
            }
            builder.Append(c);
        }
        return builder.ToString();
    }

    /// <summary>An HTTP request: no statement kinds, relations or functions; <paramref name="text"/> is what <c>pattern</c> sees.</summary>
    /// <param name="http">The request's facts.</param>
    /// <param name="text">The command text: method, path and query (and for an exec, its command).</param>
    public static AccessRequest ForHttp(HttpAccess http, string text) => new(StatementKindSet.Empty, false, [], [], text) { Http = http };
}
