using Wire.Enforcement.Policy;

namespace Wire.Hosting.Configuration;

internal sealed partial class GatewayConfig
{
    private static readonly Dictionary<string, PolicyAction> RuleActions = new(StringComparer.Ordinal)
    {
        ["allow"] = PolicyAction.Allow,
        ["deny"] = PolicyAction.Deny,
        ["review"] = PolicyAction.Review,
        ["mask"] = PolicyAction.Mask,
    };

    private static readonly Dictionary<string, PolicyAction> DefaultActions = new(StringComparer.Ordinal)
    {
        ["allow"] = PolicyAction.Allow,
        ["deny"] = PolicyAction.Deny,
    };

    private static readonly Dictionary<string, DetectorScope> DetectorScopes = new(StringComparer.Ordinal)
    {
        ["expressions"] = DetectorScope.Expressions,
        ["all"] = DetectorScope.All,
    };

    private static readonly Dictionary<string, ExpressionHandling> ExpressionChoices = new(StringComparer.Ordinal)
    {
        ["mask"] = ExpressionHandling.Mask,
        ["refuse"] = ExpressionHandling.Refuse,
    };

    private static readonly Dictionary<string, WireProtocol> Protocols = new(StringComparer.Ordinal)
    {
        ["postgres"] = WireProtocol.Postgres,
        ["ssh"] = WireProtocol.Ssh,
        ["http"] = WireProtocol.Http,
    };

    /// <summary>
    /// The detectors and mask styles of an embedding host's own that mask rules may name (<c>AddDetector</c>,
    /// <c>AddMasker</c>); null for the <c>wire</c> gateway, whose rules name built-in ones only.
    /// </summary>
    private Wire.Enforcement.Masking.CustomMasking? Masking { get; init; }

    /// <summary>The compiled rules (<c>rules</c>) with <c>policy.defaultAction</c>; allow-all when both are absent.</summary>
    public RuleSet Rules { get; private set; } = RuleSet.AllowAll;

    /// <summary>
    /// Whether sessions are inspected: the config has a <c>rules</c>, <c>policy</c> or <c>recording</c> key (even an empty
    /// rule list). Without one, sessions are relayed without looking at them, at the cost of a plain proxy.
    /// </summary>
    public bool EnforcementEnabled { get; private set; }

    private void ReadRules(ConfigReader root)
    {
        EnforcementEnabled = root.Has("rules") || root.Has("policy") || root.Has("recording");
        var defaultAction = PolicyAction.Allow;
        if (root.GetObject("policy") is { } policy)
        {
            policy.EnsureOnly("defaultAction");
            defaultAction = policy.GetChoice("defaultAction", DefaultActions, PolicyAction.Allow);
        }

        if (!root.Has("rules") && !root.Has("policy"))
        {
            return;
        }

        var definitions = new List<RuleDefinition>();
        foreach (var rule in root.GetObjectArray("rules"))
        {
            definitions.Add(ReadRule(rule));
        }

        try
        {
            Rules = RuleSet.Create(definitions, defaultAction, Masking);
        }
        catch (RuleValidationException e)
        {
            ConfigReader.Throw(root.PathOf("rules", e.Index) + (e.Key.Length == 0 ? string.Empty : "." + e.Key), e.Reason);
        }
    }

    private static RuleDefinition ReadRule(ConfigReader rule)
    {
        rule.EnsureOnly(
            "name", "action", "protocols", "targets", "subjects", "groups", "exceptSubjects", "exceptGroups", "statements", "noWhere",
            "relations", "functions", "pattern", "methods", "hosts", "paths", "verbs", "apiGroups", "resources", "subresources", "namespaces",
            "names", "commands", "channels", "forwards", "message", "approvers", "timeout", "columns", "fields", "detectors", "detectorScope", "style", "expressions", "requireGrant");

        return new RuleDefinition
        {
            Name = rule.GetRequiredString("name"),
            Action = rule.Has("action") ? rule.GetChoice("action", RuleActions, PolicyAction.Allow) : throw rule.Required("action"),
            Protocols = OptionalList(rule, "protocols", Protocols),
            Targets = OptionalStrings(rule, "targets"),
            Subjects = OptionalStrings(rule, "subjects"),
            Groups = OptionalStrings(rule, "groups"),
            ExceptSubjects = OptionalStrings(rule, "exceptSubjects"),
            ExceptGroups = OptionalStrings(rule, "exceptGroups"),
            Statements = OptionalKinds(rule),
            NoWhere = rule.Has("noWhere") ? rule.GetBool("noWhere", false) : null,
            Relations = OptionalStrings(rule, "relations"),
            Functions = OptionalStrings(rule, "functions"),
            Pattern = rule.GetString("pattern"),
            Methods = OptionalStrings(rule, "methods"),
            Hosts = OptionalStrings(rule, "hosts"),
            Paths = OptionalStrings(rule, "paths"),
            Verbs = OptionalStrings(rule, "verbs"),
            ApiGroups = OptionalStrings(rule, "apiGroups"),
            Resources = OptionalStrings(rule, "resources"),
            Subresources = OptionalStrings(rule, "subresources"),
            Namespaces = OptionalStrings(rule, "namespaces"),
            Names = OptionalStrings(rule, "names"),
            Commands = OptionalStrings(rule, "commands"),
            Channels = OptionalStrings(rule, "channels"),
            Forwards = OptionalStrings(rule, "forwards"),
            Message = rule.GetString("message"),
            Approvers = OptionalStrings(rule, "approvers"),
            Timeout = rule.Has("timeout") ? rule.GetDuration("timeout", TimeSpan.Zero) : null,
            RequireGrant = rule.GetBool("requireGrant", false),
            Columns = OptionalStrings(rule, "columns"),
            Fields = OptionalStrings(rule, "fields"),
            Detectors = OptionalStrings(rule, "detectors"),
            DetectorScope = rule.GetChoice("detectorScope", DetectorScopes, DetectorScope.Expressions),
            Style = rule.GetString("style"),
            Expressions = rule.GetChoice("expressions", ExpressionChoices, ExpressionHandling.Mask),
        };
    }

    private static IReadOnlyList<string>? OptionalStrings(ConfigReader rule, string key) => rule.Has(key) ? rule.GetStringArray(key) : null;

    private static List<T>? OptionalList<T>(ConfigReader rule, string key, IReadOnlyDictionary<string, T> choices)
    {
        if (!rule.Has(key))
        {
            return null;
        }

        var names = rule.GetStringArray(key);
        var values = new List<T>(names.Count);
        for (int i = 0; i < names.Count; i++)
        {
            if (!choices.TryGetValue(names[i], out var value))
            {
                ConfigReader.Throw(rule.PathOf(key, i), $"must be one of {string.Join(", ", choices.Keys)}");
            }
            values.Add(value!);
        }
        return values;
    }

    private static List<StatementKind>? OptionalKinds(ConfigReader rule)
    {
        if (!rule.Has("statements"))
        {
            return null;
        }

        var names = rule.GetStringArray("statements");
        var kinds = new List<StatementKind>(names.Count);
        for (int i = 0; i < names.Count; i++)
        {
            if (!StatementKindNames.TryParse(names[i], out var kind))
            {
                ConfigReader.Throw(rule.PathOf("statements", i), $"must be one of {string.Join(", ", StatementKindNames.All)}");
            }
            kinds.Add(kind);
        }
        return kinds;
    }
}
