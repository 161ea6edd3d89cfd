using System.Security.Cryptography;
using Wire.Enforcement;
using Wire.Enforcement.Approvals;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Recording;
using Wire.Enforcement.Sessions;
using Wire.Postgres.Sql;

namespace Wire.Postgres.Enforcement;

/// <summary>
/// The enforcement state machine of one PostgreSQL session (DESIGN.md §2-§3). The client pump hands it every
/// message it must judge (PgEnforcer.Frontend.cs) and the server pump every response (PgEnforcer.Backend.cs); it
/// tracks prepared statements and portals and the order of expected responses, so that a verdict is taken per
/// execution, a denied message is replaced by one that fails on the server (whose error Wire swaps for its own),
/// and transaction state always stays the server's. Both pumps call in under one lock; handlers are synchronous.
/// </summary>
internal sealed partial class PgEnforcer
{
    /// <summary>Replaces a denied simple Query: a syntax error, so nothing in it runs and nothing depends on names.</summary>
    private const string DeniedQueryText = "WIRE DENIED";

    /// <summary>Most parameter text an approver is shown per value.</summary>
    private const int DisplayedParameterLength = 200;

    /// <summary>Classifications are shared by every session: a statement text is lexed once while it stays cached.</summary>
    private static readonly PgClassificationCache Cache = new();

    private readonly Lock _gate = new();
    private readonly WireEnforcement _enforcement;
    private readonly PgPendingQueue _pending = new();
    private readonly PgNameTable _statements = new();
    private readonly PgNameTable _portals = new();
    private readonly List<PgPrepared> _candidates = [];

    // A portal name no client can guess (the error naming it is swapped before the client sees it), so the
    // replacement Execute can only fail.
    private readonly string _deniedPortal = "wire-denied-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    private SessionPolicy _policy;
    private volatile bool _standardConformingStrings;

    private readonly ISessionRecorder? _recorder;

    public PgEnforcer(
        WireEnforcement enforcement,
        WireIdentity identity,
        string target,
        string sessionId,
        bool standardConformingStrings,
        ISessionRecorder? recorder = null,
        PgCatalog? catalog = null)
    {
        _enforcement = enforcement;
        _catalog = catalog;
        _maskKey = enforcement.MaskingKey.ToArray();
        _recorder = recorder;
        Identity = identity;
        Target = target;
        SessionId = sessionId;
        _standardConformingStrings = standardConformingStrings;
        _policy = enforcement.Rules.Current.ForSession(WireProtocol.Postgres, target, identity, enforcement.Grants);
    }

    public WireIdentity Identity { get; }

    /// <summary>The session in the gateway's registry, whose commands are counted here (each judged execution); null for none.</summary>
    public LiveSession? Live { get; init; }

    public string Target { get; }

    public string SessionId { get; }

    /// <summary>The session's <c>standard_conforming_strings</c>, as the server last reported it.</summary>
    public bool StandardConformingStrings => _standardConformingStrings;

    private SessionPolicy Policy
    {
        get
        {
            var current = _enforcement.Rules.Current;
            if (!ReferenceEquals(current, _policy.Source))
            {
                _policy = current.ForSession(WireProtocol.Postgres, Target, Identity, _enforcement.Grants);
            }
            return _policy;
        }
    }

    /// <summary>Classifies SQL text under the session's setting, and under the other one too when that reads differently.</summary>
    private PgPrepared Classify(ReadOnlySpan<byte> sql, string? text = null)
    {
        bool scs = _standardConformingStrings;
        var script = Cache.Classify(sql, scs);
        var other = script.DependsOnStringMode ? Cache.Classify(sql, !scs).Statements : null;
        return new PgPrepared(script.Statements, other) { Text = text };
    }

    /// <summary>The strictest verdict over everything <paramref name="definition"/> may run.</summary>
    private Verdict Judge(PgPrepared definition, SessionPolicy policy, int depth = 0)
    {
        if (definition.IsUnknown)
        {
            return Verdict.Deny(null, "Wire does not know which statement this runs");
        }

        var verdict = Verdict.Allow();
        if (definition.Union is { } union)
        {
            foreach (var alternative in union)
            {
                verdict = Strictest(verdict, Judge(alternative, policy, depth));
            }
            return verdict;
        }

        verdict = Strictest(verdict, Judge(definition.Statements, policy, depth));
        return definition.OtherReading is { } other ? Strictest(verdict, Judge(other, policy, depth)) : verdict;
    }

    private Verdict Judge(IReadOnlyList<PgStatement> statements, SessionPolicy policy, int depth)
    {
        var verdict = Verdict.Allow();
        for (int i = 0; i < statements.Count; i++)
        {
            verdict = Strictest(verdict, Judge(statements[i], policy, depth));
            if (verdict.Action == PolicyAction.Deny)
            {
                break;
            }
        }
        return verdict;
    }

    private Verdict Judge(PgStatement statement, SessionPolicy policy, int depth)
    {
        var request = new AccessRequest(statement.Kinds, statement.NoWhere, statement.Relations, statement.Functions, statement.NormalizedText);
        var verdict = policy.Evaluate(request);
        if (statement.Kind == StatementKind.Execute && statement.ExecuteName is { } name && verdict.Action != PolicyAction.Deny)
        {
            // EXECUTE is judged by the statement it runs: every definition the name may have right now.
            if (depth > 2)
            {
                return Verdict.Deny(null, "prepared statements nest too deeply");
            }
            int start = _candidates.Count;
            if (!_statements.TryGetCandidates(name, _candidates))
            {
                return policy.AllowsEverything ? verdict : Verdict.Deny(null, $"Wire does not know prepared statement \"{name}\"");
            }
            for (int i = start; i < _candidates.Count && verdict.Action != PolicyAction.Deny; i++)
            {
                verdict = Strictest(verdict, Judge(_candidates[i], policy, depth + 1));
            }
            _candidates.RemoveRange(start, _candidates.Count - start);
        }
        return verdict;
    }

    private static Verdict Strictest(Verdict a, Verdict b) =>
        a.Action == PolicyAction.Deny ? a
        : b.Action == PolicyAction.Deny ? b
        : a.Action == PolicyAction.Review ? a
        : b.Action == PolicyAction.Review ? b
        : a.Rule is null ? b : a;

    /// <summary>The message a client sees for a denied execution (DESIGN.md §4: 42501 naming the rule).</summary>
    private static string DenialMessage(Verdict verdict) =>
        verdict.Rule is null
            ? $"wire: denied: {verdict.Message}"
            : verdict.Message is null ? $"wire: denied by rule {verdict.Rule}" : $"wire: denied by rule {verdict.Rule}: {verdict.Message}";

    private ApprovalRequest CreateApprovalRequest(Verdict verdict, PgPrepared definition, StatementKindSet kinds) => new()
    {
        Id = Guid.NewGuid().ToString("n"),
        Identity = Identity,
        Protocol = WireProtocol.Postgres,
        Target = Target,
        SessionId = SessionId,
        Text = MaskText(DescribeText(definition)),
        Parameters = MaskTexts(definition.Parameters),
        Kinds = kinds,
        Rule = verdict.Rule ?? "default",
        Approvers = verdict.Approvers,
        Timeout = verdict.Timeout,
        RequestedAt = _enforcement.Time.GetUtcNow(),
    };

    private static string DescribeText(PgPrepared definition)
    {
        if (definition.Text is { } text)
        {
            return text;
        }
        if (definition.Union is { } union)
        {
            return string.Join(" | or | ", union.Select(DescribeText));
        }
        return definition.IsUnknown ? "(unknown statement)" : string.Join("; ", definition.Statements.Select(s => s.NormalizedText));
    }

    private static StatementKindSet KindsOf(PgPrepared definition)
    {
        var kinds = StatementKindSet.Empty;
        if (definition.Union is { } union)
        {
            foreach (var alternative in union)
            {
                kinds = kinds.Union(KindsOf(alternative));
            }
        }
        var statements = definition.Statements;
        for (int i = 0; i < statements.Count; i++)
        {
            kinds = kinds.Union(statements[i].Kinds);
        }
        return kinds;
    }
}
