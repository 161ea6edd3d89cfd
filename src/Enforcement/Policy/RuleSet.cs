using System.Text.RegularExpressions;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Masking;

namespace Wire.Enforcement.Policy;

/// <summary>
/// An immutable, validated snapshot of the configured rules and the default action. Sessions take the rules that
/// concern them once (<see cref="ForSession"/>); a config reload builds a new snapshot, never edits this one.
/// </summary>
public sealed class RuleSet
{
    private readonly CompiledRule[] _rules;
    private readonly IAccessRule[] _custom;

    private RuleSet(CompiledRule[] rules, PolicyAction defaultAction, IAccessRule[] custom, CustomMasking masking)
    {
        _rules = rules;
        DefaultAction = defaultAction;
        _custom = custom;
        Masking = masking;
    }

    /// <summary>No rules, everything allowed: what a gateway without a <c>rules</c> key runs.</summary>
    public static RuleSet AllowAll { get; } = new([], PolicyAction.Allow, [], CustomMasking.None);

    /// <summary>
    /// The detectors and mask styles of the host's own that the mask rules may name (<see cref="Create"/>);
    /// every scanner and masker built from these rules runs them.
    /// </summary>
    public CustomMasking Masking { get; }

    /// <summary>What happens when no allow, deny or review rule matches (<c>policy.defaultAction</c>).</summary>
    public PolicyAction DefaultAction { get; }

    /// <summary>The rules, as configured.</summary>
    public IEnumerable<RuleDefinition> Rules => _rules.Select(r => r.Definition);

    /// <summary>
    /// Validates and compiles <paramref name="rules"/>; their mask rules may name the detectors and styles of
    /// <paramref name="masking"/> beside the built-in ones.
    /// </summary>
    /// <param name="rules">The rules, as configured.</param>
    /// <param name="defaultAction">What happens when no allow, deny or review rule matches.</param>
    /// <param name="masking">A host's own detectors and mask styles; null: none.</param>
    /// <exception cref="RuleValidationException">A rule is invalid; the exception names it and the key.</exception>
    public static RuleSet Create(IReadOnlyList<RuleDefinition> rules, PolicyAction defaultAction = PolicyAction.Allow, CustomMasking? masking = null)
    {
        ArgumentNullException.ThrowIfNull(rules);
        masking ??= CustomMasking.None;
        if (defaultAction is not (PolicyAction.Allow or PolicyAction.Deny))
        {
            throw new ArgumentOutOfRangeException(nameof(defaultAction), defaultAction, "the default action is allow or deny");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var compiled = new CompiledRule[rules.Count];
        for (int i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            if (string.IsNullOrWhiteSpace(rule.Name))
            {
                throw new RuleValidationException(i, "name", "must not be empty");
            }
            if (!names.Add(rule.Name))
            {
                throw new RuleValidationException(i, "name", $"another rule is already named '{rule.Name}'");
            }
            compiled[i] = CompiledRule.Create(i, rule, masking);
        }

        return new RuleSet(compiled, defaultAction, [], masking);
    }

    /// <summary>The rules written in code that are judged with the configured ones.</summary>
    public IReadOnlyList<IAccessRule> CustomRules => _custom;

    /// <summary>This snapshot with <paramref name="customRules"/> (replacing any it had) judged beside the configured rules.</summary>
    /// <exception cref="RuleValidationException">A custom rule has no name, or the name of another rule.</exception>
    public RuleSet WithCustomRules(IReadOnlyList<IAccessRule> customRules)
    {
        ArgumentNullException.ThrowIfNull(customRules);
        var names = new HashSet<string>(_rules.Select(r => r.Name), StringComparer.Ordinal);
        for (int i = 0; i < customRules.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(customRules[i].Name) || !names.Add(customRules[i].Name))
            {
                throw new RuleValidationException(_rules.Length + i, "name",
                    $"the rule written in code ({customRules[i].GetType().Name}) needs a name of its own");
            }
        }
        return new RuleSet(_rules, DefaultAction, [.. customRules], Masking);
    }

    /// <summary>
    /// The rules that apply to one session: those whose session-level keys (protocols, targets, subjects, groups,
    /// exceptions) match. Statement-level keys are evaluated per execution by <see cref="SessionPolicy.Evaluate"/>.
    /// </summary>
    /// <param name="protocol">The session's protocol.</param>
    /// <param name="target">The target's name.</param>
    /// <param name="identity">Who the session belongs to.</param>
    /// <param name="grants">
    /// Where rules with <c>requireGrant</c> look for the identity's grant at each execution; null: no grants, so such
    /// rules deny whatever they match.
    /// </param>
    internal SessionPolicy ForSession(WireProtocol protocol, string target, WireIdentity identity, Grants.GrantRegistry? grants = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(identity);
        var statementRules = new List<CompiledRule>();
        var maskRules = new List<RuleDefinition>();
        foreach (var rule in _rules)
        {
            if (!rule.MatchesSession(protocol, target, identity))
            {
                continue;
            }
            if (rule.Definition.Action == PolicyAction.Mask)
            {
                maskRules.Add(rule.Definition);
            }
            else
            {
                statementRules.Add(rule);
            }
        }

        return new SessionPolicy(this, [.. statementRules], maskRules, DefaultAction, protocol)
        {
            CustomRules = _custom,
            Identity = identity,
            Grants = grants,
            Target = target,
        };
    }

    internal sealed class CompiledRule
    {
        private static readonly TimeSpan DefaultReviewTimeout = TimeSpan.FromMinutes(5);

        private readonly Regex? _pattern;
        private readonly StatementKindSet _kinds;

        private CompiledRule(RuleDefinition definition, Regex? pattern, StatementKindSet kinds)
        {
            Definition = definition;
            _pattern = pattern;
            _kinds = kinds;
        }

        public RuleDefinition Definition { get; }

        public string Name => Definition.Name;

        public TimeSpan ReviewTimeout => Definition.Timeout ?? DefaultReviewTimeout;

        public static CompiledRule Create(int index, RuleDefinition rule, CustomMasking masking)
        {
            switch (rule.Action)
            {
                case PolicyAction.Review:
                    if (rule.Approvers is not { Count: > 0 })
                    {
                        throw new RuleValidationException(index, "approvers", "a review rule needs at least one approver group");
                    }
                    if (rule.Timeout is { } timeout && timeout <= TimeSpan.Zero)
                    {
                        throw new RuleValidationException(index, "timeout", "must be positive");
                    }
                    break;
                case PolicyAction.Mask:
                    if (rule.Columns is not { Count: > 0 } && rule.Detectors is not { Count: > 0 } && rule.Fields is not { Count: > 0 })
                    {
                        throw new RuleValidationException(index, string.Empty, "a mask rule needs columns, fields or detectors");
                    }
                    for (int f = 0; f < (rule.Fields?.Count ?? 0); f++)
                    {
                        if (!Wire.Enforcement.Masking.JsonFieldPattern.TryParse(rule.Fields![f], out _, out var fieldError))
                        {
                            throw new RuleValidationException(index, $"fields[{f}]", $"'{rule.Fields[f]}' is not a JSON path glob: {fieldError}");
                        }
                    }
                    for (int d = 0; d < (rule.Detectors?.Count ?? 0); d++)
                    {
                        if (!Wire.Enforcement.Masking.DetectorNames.TryParse(rule.Detectors![d], out _) && masking.FindDetector(rule.Detectors[d]) is null)
                        {
                            throw new RuleValidationException(index, $"detectors[{d}]",
                                $"must be one of {string.Join(", ", Wire.Enforcement.Masking.DetectorNames.All.Concat(masking.CustomDetectorNames))}");
                        }
                    }
                    if (rule.Style is { } style && !Wire.Enforcement.Masking.MaskStyles.TryParse(style, out _) && masking.FindMasker(style) is null)
                    {
                        throw new RuleValidationException(index, "style",
                            $"must be one of {string.Join(", ", Wire.Enforcement.Masking.MaskStyles.All.Concat(masking.CustomStyleNames))}");
                    }
                    if (rule.HasStatementKeys)
                    {
                        throw new RuleValidationException(index, string.Empty,
                            "a mask rule applies to whole sessions: statement and request keys (statements, noWhere, relations, functions, pattern, "
                            + "methods, hosts, paths, verbs, apiGroups, resources, subresources, namespaces, names) are not allowed on it");
                    }
                    break;
            }

            if (rule.Action != PolicyAction.Review && (rule.Approvers is not null || rule.Timeout is not null))
            {
                throw new RuleValidationException(index, rule.Approvers is not null ? "approvers" : "timeout", "only a review rule has this key");
            }
            if (rule.RequireGrant && rule.Action is not (PolicyAction.Allow or PolicyAction.Review))
            {
                throw new RuleValidationException(index, "requireGrant", "only an allow or a review rule has this key");
            }
            if (rule.Action != PolicyAction.Deny && rule.Message is not null)
            {
                throw new RuleValidationException(index, "message", "only a deny rule has this key");
            }
            if (rule.Action != PolicyAction.Mask && rule.Expressions != ExpressionHandling.Mask)
            {
                throw new RuleValidationException(index, "expressions", "only a mask rule has this key");
            }
            if (rule.Action != PolicyAction.Mask && (rule.Columns is not null || rule.Detectors is not null || rule.Style is not null || rule.Fields is not null))
            {
                throw new RuleValidationException(index,
                    rule.Columns is not null ? "columns" : rule.Detectors is not null ? "detectors" : rule.Fields is not null ? "fields" : "style",
                    "only a mask rule has this key");
            }

            Regex? pattern = null;
            if (rule.Pattern is not null)
            {
                try
                {
                    pattern = new Regex(rule.Pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
                }
                catch (ArgumentException e)
                {
                    throw new RuleValidationException(index, "pattern", $"invalid regular expression: {e.Message}");
                }
            }

            var kinds = StatementKindSet.Empty;
            foreach (var kind in rule.Statements ?? [])
            {
                kinds = kinds.With(kind);
            }
            if (rule.Statements is { Count: 0 })
            {
                throw new RuleValidationException(index, "statements", "must not be empty (leave the key out to match every statement)");
            }
            foreach (var (key, values) in new (string, IReadOnlyList<string>?)[]
            {
                ("methods", rule.Methods), ("hosts", rule.Hosts), ("paths", rule.Paths), ("verbs", rule.Verbs), ("apiGroups", rule.ApiGroups),
                ("resources", rule.Resources), ("subresources", rule.Subresources), ("namespaces", rule.Namespaces), ("names", rule.Names),
                ("commands", rule.Commands), ("channels", rule.Channels), ("forwards", rule.Forwards),
            })
            {
                if (values is { Count: 0 })
                {
                    throw new RuleValidationException(index, key, "must not be empty (leave the key out to match every request)");
                }
            }
            foreach (var verb in rule.Verbs ?? [])
            {
                if (!KubernetesVerbs.Contains(verb))
                {
                    throw new RuleValidationException(index, "verbs", $"'{verb}' is not one of {string.Join(", ", KubernetesVerbs)}");
                }
            }
            for (int c = 0; c < (rule.Channels?.Count ?? 0); c++)
            {
                if (!SshAccess.Channels.Contains(rule.Channels![c]))
                {
                    throw new RuleValidationException(index, $"channels[{c}]", $"must be one of {string.Join(", ", SshAccess.Channels)}");
                }
            }
            if (rule.Paths?.FirstOrDefault(p => !p.StartsWith('/') && p != "*") is { } badPath)
            {
                throw new RuleValidationException(index, "paths", $"'{badPath}' does not start with /");
            }

            return new CompiledRule(rule, pattern, kinds);
        }

        public bool MatchesSession(WireProtocol protocol, string target, WireIdentity identity)
        {
            var d = Definition;
            if (d.Protocols is not null && !d.Protocols.Contains(protocol))
            {
                return false;
            }
            if (d.Targets is not null && !Glob.AnyMatch(d.Targets, target))
            {
                return false;
            }
            if (d.Subjects is not null && !Glob.AnyMatch(d.Subjects, identity.Subject))
            {
                return false;
            }
            if (d.Groups is not null && !InAnyGroup(identity, d.Groups))
            {
                return false;
            }
            if (d.ExceptSubjects is not null && Glob.AnyMatch(d.ExceptSubjects, identity.Subject))
            {
                return false;
            }
            return d.ExceptGroups is null || !InAnyGroup(identity, d.ExceptGroups);
        }

        public bool MatchesExecution(in AccessRequest request)
        {
            var d = Definition;
            if (d.HasHttpKeys && !MatchesHttp(d, request.Http))
            {
                return false;
            }
            if (request.Ssh is { } ssh)
            {
                if (ssh.Typed && d.Commands is null && _pattern is null)
                {
                    // A rule about what may be opened does not judge each line typed in what it let open.
                    return false;
                }
                if (d.HasSshKeys && !MatchesSsh(d, ssh))
                {
                    return false;
                }
            }
            else if (d.HasSshKeys)
            {
                return false;
            }
            if (!_kinds.IsEmpty && !_kinds.Overlaps(request.Kinds))
            {
                return false;
            }
            if (d.NoWhere is { } noWhere && noWhere != request.NoWhere)
            {
                return false;
            }
            if (d.Relations is not null && !AnyQualifiedMatch(d.Relations, request.Relations))
            {
                return false;
            }
            if (d.Functions is not null && !AnyQualifiedMatch(d.Functions, request.Functions))
            {
                return false;
            }
            return _pattern is null || _pattern.IsMatch(request.NormalizedText);
        }

        // HTTP keys: a key that is set needs the fact (a PostgreSQL execution has no method, a generic target no verb).
        private static bool MatchesHttp(RuleDefinition d, HttpAccess? http)
        {
            if (http is null)
            {
                return false;
            }
            if (d.Methods is not null && !d.Methods.Contains(http.Method, StringComparer.OrdinalIgnoreCase))
            {
                return false;
            }
            if (d.Hosts is not null && !Glob.AnyMatch(d.Hosts, http.Host))
            {
                return false;
            }
            if (d.Paths is not null && !Glob.AnyMatch(d.Paths, http.Path))
            {
                return false;
            }
            if (!d.HasKubernetesKeys)
            {
                return true;
            }
            if (http.Verb is null || d.Verbs is not null && !d.Verbs.Contains(http.Verb, StringComparer.Ordinal))
            {
                return false;
            }
            // The core group is "" on the wire and "core" in config (config strings are never empty).
            return (d.ApiGroups is null || http.ApiGroup is not null && d.ApiGroups.Contains(http.ApiGroup.Length == 0 ? "core" : http.ApiGroup, StringComparer.Ordinal))
                && (d.Resources is null || http.Resource is not null && Glob.AnyMatch(d.Resources, http.Resource))
                && (d.Subresources is null || http.Subresource is not null && d.Subresources.Contains(http.Subresource, StringComparer.Ordinal))
                && (d.Namespaces is null || http.Namespace is not null && Glob.AnyMatch(d.Namespaces, http.Namespace))
                && (d.Names is null || http.Name is not null && Glob.AnyMatch(d.Names, http.Name));
        }

        // SSH keys: a key that is set needs the fact (a shell has no command, an exec no destination).
        private static bool MatchesSsh(RuleDefinition d, SshAccess ssh)
        {
            if (d.Channels is not null && !d.Channels.Contains(ssh.Channel, StringComparer.Ordinal))
            {
                return false;
            }
            if (d.Forwards is not null && (ssh.Destination is null || !Glob.AnyMatch(d.Forwards, ssh.Destination)))
            {
                return false;
            }
            return d.Commands is null || ssh.Command is not null && MatchesCommand(d.Commands, ssh.Command);
        }

        /// <summary>The whole command line, or any simple command in it, matches one of the globs.</summary>
        private static bool MatchesCommand(IReadOnlyList<string> globs, string command)
        {
            if (Glob.AnyMatch(globs, AccessRequest.CollapseWhitespace(command)))
            {
                return true;
            }
            foreach (var part in command.Split(CommandSeparators, StringSplitOptions.RemoveEmptyEntries))
            {
                if (Glob.AnyMatch(globs, AccessRequest.CollapseWhitespace(part)))
                {
                    return true;
                }
            }
            return false;
        }

        // Where one simple command ends and the next begins in a shell line: lists, pipes, background, subshells and
        // command substitution.
        private static readonly string[] CommandSeparators = [";", "&&", "||", "|", "&", "\n", "\r", "$(", "`", "(", ")", "{", "}"];

        private static readonly string[] KubernetesVerbs = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"];

        private static bool AnyQualifiedMatch(IReadOnlyList<string> patterns, IReadOnlyList<string> names)
        {
            for (int i = 0; i < names.Count; i++)
            {
                for (int j = 0; j < patterns.Count; j++)
                {
                    if (Glob.IsQualifiedMatch(patterns[j], names[i]))
                    {
                        return true;
                    }
                }
            }
            return false;
        }

        private static bool InAnyGroup(WireIdentity identity, IReadOnlyList<string> groups)
        {
            for (int i = 0; i < groups.Count; i++)
            {
                if (identity.IsInGroup(groups[i]))
                {
                    return true;
                }
            }
            return false;
        }
    }
}
