namespace Wire.Enforcement.Policy;

/// <summary>
/// One rule as configured (config key <c>rules</c>, DESIGN.md §4). A missing (null) match key matches everything;
/// list keys match when any entry matches. <see cref="RuleSet.Create"/> validates and compiles a list of these.
/// </summary>
public sealed class RuleDefinition
{
    /// <summary>The rule's unique name, shown to clients and in recordings.</summary>
    public required string Name { get; init; }

    /// <summary>What the rule does when it matches.</summary>
    public required PolicyAction Action { get; init; }

    /// <summary>Key <c>protocols</c>.</summary>
    public IReadOnlyList<WireProtocol>? Protocols { get; init; }

    /// <summary>Key <c>targets</c>: target names (globs with <c>*</c> and <c>?</c>).</summary>
    public IReadOnlyList<string>? Targets { get; init; }

    /// <summary>Key <c>subjects</c>: identity subjects (globs).</summary>
    public IReadOnlyList<string>? Subjects { get; init; }

    /// <summary>Key <c>groups</c>: the identity must be in one of these groups.</summary>
    public IReadOnlyList<string>? Groups { get; init; }

    /// <summary>Key <c>exceptSubjects</c>: identities the rule never applies to (globs).</summary>
    public IReadOnlyList<string>? ExceptSubjects { get; init; }

    /// <summary>Key <c>exceptGroups</c>: members of these groups are excluded.</summary>
    public IReadOnlyList<string>? ExceptGroups { get; init; }

    /// <summary>Key <c>statements</c>: statement kinds.</summary>
    public IReadOnlyList<StatementKind>? Statements { get; init; }

    /// <summary>Key <c>noWhere</c>: true matches only an UPDATE/DELETE without WHERE, false only executions with none.</summary>
    public bool? NoWhere { get; init; }

    /// <summary>Key <c>relations</c>: relation globs (<c>schema.name</c>; an unqualified glob or relation matches in any schema).</summary>
    public IReadOnlyList<string>? Relations { get; init; }

    /// <summary>Key <c>functions</c>: globs on the functions an execution calls, matched like relations.</summary>
    public IReadOnlyList<string>? Functions { get; init; }

    /// <summary>Key <c>pattern</c>: a regular expression on the normalized text (run with NonBacktracking).</summary>
    public string? Pattern { get; init; }

    /// <summary>Key <c>methods</c> (HTTP): request methods, case-insensitive (<c>DELETE</c>).</summary>
    public IReadOnlyList<string>? Methods { get; init; }

    /// <summary>Key <c>hosts</c> (HTTP): globs on the Host field without its port (<c>*.internal</c>).</summary>
    public IReadOnlyList<string>? Hosts { get; init; }

    /// <summary>Key <c>paths</c> (HTTP): globs on the path without its query (<c>/admin/*</c>; <c>*</c> crosses <c>/</c>).</summary>
    public IReadOnlyList<string>? Paths { get; init; }

    /// <summary>Key <c>verbs</c> (Kubernetes): get, list, watch, create, update, patch, delete, deletecollection.</summary>
    public IReadOnlyList<string>? Verbs { get; init; }

    /// <summary>Key <c>apiGroups</c> (Kubernetes): API groups, <c>core</c> for the core group (whose name is empty).</summary>
    public IReadOnlyList<string>? ApiGroups { get; init; }

    /// <summary>Key <c>resources</c> (Kubernetes): resource globs (<c>secrets</c>, <c>pods</c>).</summary>
    public IReadOnlyList<string>? Resources { get; init; }

    /// <summary>Key <c>subresources</c> (Kubernetes): subresources (<c>exec</c>, <c>attach</c>, <c>portforward</c>, <c>log</c>).</summary>
    public IReadOnlyList<string>? Subresources { get; init; }

    /// <summary>Key <c>namespaces</c> (Kubernetes): namespace globs.</summary>
    public IReadOnlyList<string>? Namespaces { get; init; }

    /// <summary>Key <c>names</c> (Kubernetes): object name globs.</summary>
    public IReadOnlyList<string>? Names { get; init; }

    /// <summary>
    /// Key <c>commands</c> (SSH): globs on the command line of an exec or a line typed in a shell (whitespace runs
    /// collapsed; <c>*</c> crosses spaces; case-insensitive). Each simple command of the line (split at <c>;</c>,
    /// <c>&amp;&amp;</c>, <c>||</c>, <c>|</c>, <c>&amp;</c> and newlines) is matched too.
    /// </summary>
    public IReadOnlyList<string>? Commands { get; init; }

    /// <summary>Key <c>channels</c> (SSH): what the client asks for (<see cref="SshAccess.Channels"/>).</summary>
    public IReadOnlyList<string>? Channels { get; init; }

    /// <summary>Key <c>forwards</c> (SSH): globs on a forward's <c>host:port</c> or socket path.</summary>
    public IReadOnlyList<string>? Forwards { get; init; }

    /// <summary>Key <c>message</c> (deny): added to the error the client sees.</summary>
    public string? Message { get; init; }

    /// <summary>Key <c>approvers</c> (review): groups whose members may approve.</summary>
    public IReadOnlyList<string>? Approvers { get; init; }

    /// <summary>Key <c>timeout</c> (review): how long to wait for a decision; default 5 minutes.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// Key <c>requireGrant</c> (allow, review): the rule applies only while the identity holds a valid just-in-time grant
    /// for the target; without one, a match is a deny (DESIGN.md §4).
    /// </summary>
    public bool RequireGrant { get; init; }

    /// <summary>Key <c>columns</c> (mask): column globs <c>schema.table.column</c> (leading parts may be left out).</summary>
    public IReadOnlyList<string>? Columns { get; init; }

    /// <summary>
    /// Key <c>fields</c> (mask): JSON path globs of fields masked in JSON bodies (HTTP), for example <c>$..password</c>;
    /// see <see cref="Masking.JsonFieldPattern"/>.
    /// </summary>
    public IReadOnlyList<string>? Fields { get; init; }

    /// <summary>Key <c>detectors</c> (mask): content detector names.</summary>
    public IReadOnlyList<string>? Detectors { get; init; }

    /// <summary>Key <c>detectorScope</c> (mask).</summary>
    public DetectorScope DetectorScope { get; init; }

    /// <summary>Key <c>style</c> (mask): the mask style name; default <c>full</c>.</summary>
    public string? Style { get; init; }

    /// <summary>
    /// Key <c>expressions</c> (mask): what happens to a statement that computes with a masked column (a function,
    /// operator, cast, aggregate or whole-row reference over it): <c>mask</c> its computed values whole (default) or
    /// <c>refuse</c> it (42501).
    /// </summary>
    public ExpressionHandling Expressions { get; init; }

    /// <summary>Whether any statement-level key (statements, noWhere, relations, functions, pattern) is set.</summary>
    public bool HasStatementKeys =>
        Statements is not null || NoWhere is not null || Relations is not null || Functions is not null || Pattern is not null || HasHttpKeys
        || HasSshKeys;

    /// <summary>Whether any SSH key (commands, channels, forwards) is set.</summary>
    public bool HasSshKeys => Commands is not null || Channels is not null || Forwards is not null;

    /// <summary>Whether any HTTP request key (methods, hosts, paths, and the Kubernetes keys) is set.</summary>
    public bool HasHttpKeys =>
        Methods is not null || Hosts is not null || Paths is not null || HasKubernetesKeys;

    /// <summary>Whether any Kubernetes key (verbs, apiGroups, resources, subresources, namespaces, names) is set.</summary>
    public bool HasKubernetesKeys =>
        Verbs is not null || ApiGroups is not null || Resources is not null || Subresources is not null || Namespaces is not null || Names is not null;
}
