namespace Wire.Enforcement.Policy;

/// <summary>
/// The rules of one <see cref="RuleSet"/> that apply to one session (its protocol, target and identity), ready to
/// decide each execution. Immutable; a session swaps it for a new one when the rules reload.
/// </summary>
internal sealed class SessionPolicy
{
    private readonly RuleSet.CompiledRule[] _rules;
    private readonly PolicyAction _defaultAction;

    private readonly WireProtocol _protocol;
    private readonly KeyValuePair<string, object?> _protocolTag;

    internal SessionPolicy(RuleSet source, RuleSet.CompiledRule[] rules, IReadOnlyList<RuleDefinition> maskRules, PolicyAction defaultAction,
        WireProtocol protocol)
    {
        _protocol = protocol;
        _protocolTag = new("network.protocol.name", WireProtocolNames.TelemetryName(protocol));
        Source = source;
        _rules = rules;
        MaskRules = maskRules;
        _defaultAction = defaultAction;
    }

    /// <summary>Rules written in code, judged for every session after the configured ones.</summary>
    internal IAccessRule[] CustomRules { get; init; } = [];

    /// <summary>Where <c>requireGrant</c> rules look for a grant; null: nowhere (they deny what they match).</summary>
    internal Grants.GrantRegistry? Grants { get; init; }

    /// <summary>Whose session it is.</summary>
    internal Identity.WireIdentity? Identity { get; init; }

    internal string Subject => Identity?.Subject ?? "";

    internal string Target { get; init; } = "";

    /// <summary>The snapshot this policy was taken from.</summary>
    public RuleSet Source { get; }

    /// <summary>The mask rules that apply to the session (all of them apply together).</summary>
    public IReadOnlyList<RuleDefinition> MaskRules { get; }

    /// <summary>
    /// Whether every execution is allowed without looking at it: no allow, deny or review rule applies and the
    /// default is allow. A session can then skip classifying what it forwards for policy (it may still record).
    /// </summary>
    public bool AllowsEverything => _rules.Length == 0 && CustomRules.Length == 0 && _defaultAction == PolicyAction.Allow;

    /// <summary>
    /// Decides one execution: deny if any deny rule matches; else review if any review rule matches (approvers are
    /// the union, the timeout the shortest); else allow if an allow rule matches; else the default action.
    /// </summary>
    public Verdict Evaluate(in AccessRequest request)
    {
        var verdict = Decide(request);
        string verdictName = verdict.Action switch
        {
            PolicyAction.Deny => "deny",
            PolicyAction.Review => "review",
            _ => "allow",
        };
        // One short activity per judged execution, a child of its session's: what was decided and by which rule.
        if (Diagnostics.WireDiagnostics.ActivitySource.HasListeners()
            && Diagnostics.WireDiagnostics.ActivitySource.StartActivity("wire.command") is { } activity)
        {
            if (activity.IsAllDataRequested)
            {
                TagCommand(activity, request, verdict, verdictName);
            }
            activity.Dispose();
        }
        if (Diagnostics.WireDiagnostics.Commands.Enabled)
        {
            Diagnostics.WireDiagnostics.Commands.Add(1, _protocolTag, new("wire.verdict", verdictName));
        }
        return verdict;
    }

    /// <summary>
    /// The command activity's attributes, in OpenTelemetry's names where a convention has one (docs/admin-api.md,
    /// "Telemetry"). Only facts the rules already hold: never the command text, parameters or values, which may be secrets.
    /// </summary>
    private void TagCommand(System.Diagnostics.Activity activity, in AccessRequest request, Verdict verdict, string verdictName)
    {
        activity.SetTag("network.protocol.name", _protocolTag.Value);
        activity.SetTag("user.id", Subject);
        if (_protocol == WireProtocol.Postgres)
        {
            activity.SetTag("db.system.name", "postgresql");
            activity.SetTag("db.namespace", Target); // the database name the client asked for is the target's name
            if (request.Kinds.TryGetSingle(out var kind) && StatementKindNames.SqlKeyword(kind) is { } keyword)
            {
                activity.SetTag("db.operation.name", keyword);
            }
            if (request.Relations.Count == 1)
            {
                activity.SetTag("db.collection.name", request.Relations[0]);
            }
        }
        else
        {
            activity.SetTag("wire.target", Target);
            if (request.Http is { } http)
            {
                string method = KnownHttpMethod(http.Method);
                activity.SetTag("http.request.method", method);
                if (!ReferenceEquals(method, http.Method))
                {
                    activity.SetTag("http.request.method_original", http.Method);
                }
                activity.SetTag("url.path", http.Path);
            }
        }
        activity.SetTag("wire.verdict", verdictName);
        activity.SetTag("wire.rule", verdict.Rule);
        if (verdict.Action == PolicyAction.Deny)
        {
            activity.SetTag("error.type", "denied");
            activity.SetStatus(System.Diagnostics.ActivityStatusCode.Error);
        }
    }

    /// <summary>
    /// The method itself if it is one OpenTelemetry's HTTP conventions know, else <c>_OTHER</c> (keeps cardinality bounded).
    /// </summary>
    private static string KnownHttpMethod(string method) => method switch
    {
        "GET" or "HEAD" or "POST" or "PUT" or "DELETE" or "CONNECT" or "OPTIONS" or "TRACE" or "PATCH" or "QUERY" => method,
        _ => "_OTHER",
    };

    private Verdict Decide(in AccessRequest request)
    {
        Verdict? review = null;
        List<Verdict>? moreReviews = null;
        Verdict? allow = null;
        foreach (var rule in _rules)
        {
            if (!rule.MatchesExecution(request))
            {
                continue;
            }
            if (rule.Definition.RequireGrant && Grants?.FindValid(Subject, Target) is null)
            {
                // Without a grant the rule is a deny: what it would allow or send for review is refused.
                return Verdict.Deny(rule.Name, Enforcement.Grants.GrantRegistry.NoGrantMessage(Target));
            }
            switch (rule.Definition.Action)
            {
                case PolicyAction.Deny:
                    return Verdict.Deny(rule.Name, rule.Definition.Message);
                case PolicyAction.Review:
                    AddReview(ref review, ref moreReviews, Verdict.Review(rule.Name, rule.Definition.Approvers!, rule.ReviewTimeout));
                    break;
                default:
                    allow ??= Verdict.Allow(rule.Name);
                    break;
            }
        }
        foreach (var rule in CustomRules)
        {
            Verdict? said;
            try
            {
                said = rule.Evaluate(_protocol, Target, Identity!, request);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                return Verdict.Deny(rule.Name, "the rule failed; the execution is refused"); // fail closed
            }
            switch (said)
            {
                case null:
                    break;
                case { Action: PolicyAction.Deny } deny:
                    return Verdict.Deny(rule.Name, deny.Message);
                case { Action: PolicyAction.Review } asked:
                    AddReview(ref review, ref moreReviews, Verdict.Review(rule.Name, asked.Approvers, asked.Timeout));
                    break;
                default:
                    allow ??= Verdict.Allow(rule.Name);
                    break;
            }
        }

        if (review is { } first)
        {
            return moreReviews is null ? first : CombineReviews(first, moreReviews);
        }
        if (allow is { } allowed)
        {
            return allowed;
        }
        return _defaultAction == PolicyAction.Deny ? Verdict.Deny(null, "no rule allows it (policy.defaultAction is deny)") : Verdict.Allow();
    }

    private static void AddReview(ref Verdict? first, ref List<Verdict>? more, Verdict review)
    {
        if (first is null)
        {
            first = review;
        }
        else
        {
            (more ??= []).Add(review);
        }
    }

    private static Verdict CombineReviews(Verdict first, List<Verdict> more)
    {
        var approvers = new List<string>(first.Approvers);
        var names = first.Rule!;
        var timeout = first.Timeout;
        foreach (var review in more)
        {
            foreach (var group in review.Approvers)
            {
                if (!approvers.Contains(group))
                {
                    approvers.Add(group);
                }
            }
            names += "," + review.Rule;
            if (review.Timeout < timeout)
            {
                timeout = review.Timeout;
            }
        }
        return Verdict.Review(names, approvers, timeout);
    }
}
