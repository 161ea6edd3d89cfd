using Wire.Enforcement.Masking;
using Wire.Enforcement.Policy;

namespace Wire.Postgres.Enforcement;

/// <summary>
/// The mask rules of one session, compiled: column globs with their styles, and the content detectors with theirs
/// (DESIGN.md §3-§4: every matching mask rule applies, union of columns, strictest style). Styles and detectors may be
/// a host's own (<see cref="CustomMasking"/>); a host's style on a binary value of a non-text type gets what
/// <c>full</c> gives that type (<see cref="PgValueMask"/>).
/// </summary>
internal sealed class PgMaskPolicy
{
    private readonly (string Glob, MaskChoice Style)[] _columns;
    private readonly Dictionary<MaskStyle, ValueMasker> _maskers = [];
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<PgRelationInfo, RelationStyles> _styles = [];
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<PgRelationInfo, RelationStyles>.CreateValueCallback _compute;

    public PgMaskPolicy(IReadOnlyList<RuleDefinition> maskRules, CustomMasking masking, ReadOnlySpan<byte> key)
    {
        var columns = new List<(string, MaskChoice)>();
        foreach (var rule in maskRules)
        {
            var style = masking.StyleOf(rule.Style);
            foreach (var glob in rule.Columns ?? [])
            {
                columns.Add((glob, style));
            }
            ScanAllText |= rule.DetectorScope == DetectorScope.All && rule.Detectors is { Count: > 0 };
            RefuseExpressions |= rule.Expressions == ExpressionHandling.Refuse && rule.Columns is { Count: > 0 };
        }

        _columns = [.. columns];
        _compute = Compute;
        foreach (var style in Enum.GetValues<MaskStyle>())
        {
            _maskers[style] = new ValueMasker(style, key);
        }
        Full = _maskers[MaskStyle.Full];
        Scanner = DetectorRules.Select(maskRules, masking, out var detectors, out var custom, out var detectorStyle)
            ? new ContentScanner(detectors, Masker(detectorStyle), custom)
            : null;

        // Column names the rules name (the last part of each glob, unless it is a wildcard): a statement that mentions
        // one may be computing with a masked value.
        ColumnNames = [.. _columns.Select(c => c.Glob[(c.Glob.LastIndexOf('.') + 1)..]).Where(n => n.Length > 0 && !n.Contains('*') && !n.Contains('?'))
            .Distinct(StringComparer.OrdinalIgnoreCase)];
    }

    /// <summary>Whether any rule masks anything: when not, results pass untouched.</summary>
    public bool IsActive => _columns.Length > 0 || Scanner is not null;

    /// <summary>Whether the rules name columns (then expression columns of statements over them are fully masked).</summary>
    public bool HasColumnRules => _columns.Length > 0;

    /// <summary>The detectors of all rules, with the strictest of their styles; null when no rule has detectors.</summary>
    public ContentScanner? Scanner { get; }

    /// <summary>Detectors run on every text value, not only on expression columns.</summary>
    public bool ScanAllText { get; }

    /// <summary>A rule says <c>"expressions": "refuse"</c>: statements computing with masked columns are refused.</summary>
    public bool RefuseExpressions { get; }

    /// <summary>The <c>full</c> masker (unresolvable origins, expression columns of tainted statements).</summary>
    public ValueMasker Full { get; }

    /// <summary>Column names the rules name explicitly.</summary>
    public IReadOnlyList<string> ColumnNames { get; }

    public ValueMasker Masker(MaskChoice style) => style.Custom ?? _maskers[style.Style];

    /// <summary>
    /// The style for a column of <paramref name="relation"/>, or null when no rule masks it. A column is masked when a
    /// glob names it, its column in an ancestor (partitions, inheritance), or — for a view — any table column the view
    /// reads (a view column may be computed from any of them). A relation the catalog cannot see is masked whole.
    /// </summary>
    public MaskChoice? StyleFor(PgRelationInfo relation, short attribute)
    {
        if (!relation.Exists)
        {
            return MaskChoice.Full;
        }
        if (_columns.Length == 0)
        {
            return null;
        }
        var styles = Styles(relation);
        return styles.Columns.TryGetValue(attribute, out var style) ? style : styles.ViewStyle;
    }

    /// <summary>Whether any column of <paramref name="relation"/> is masked (always, for a relation the catalog cannot see).</summary>
    public bool MasksAnyColumnOf(PgRelationInfo relation) => !relation.Exists || _columns.Length > 0 && Styles(relation).Any;

    // Matching globs builds a qualified name per column and ancestor: done once per catalog entry (entries are replaced,
    // not changed, when the catalog refreshes), not per statement and row description.
    private RelationStyles Styles(PgRelationInfo relation) => _styles.GetValue(relation, _compute);

    private RelationStyles Compute(PgRelationInfo relation)
    {
        MaskChoice? viewStyle = null;
        foreach (var dependency in relation.ViewDependencies)
        {
            Match(dependency, ref viewStyle);
        }
        var columns = new Dictionary<short, MaskChoice?>(relation.Columns.Count);
        bool any = viewStyle is not null;
        foreach (var (attribute, column) in relation.Columns)
        {
            MaskChoice? style = null;
            Match(relation.Schema + "." + relation.Name + "." + column, ref style);
            foreach (var ancestor in relation.Ancestors)
            {
                Match(ancestor + "." + column, ref style);
            }
            if (viewStyle is { } view)
            {
                style = style is { } current ? MaskChoice.Strictest(current, view) : view;
            }
            columns[attribute] = style;
            any |= style is not null;
        }
        return new RelationStyles(columns, viewStyle, any);
    }

    private sealed record RelationStyles(Dictionary<short, MaskChoice?> Columns, MaskChoice? ViewStyle, bool Any);

    private void Match(string qualifiedColumn, ref MaskChoice? style)
    {
        foreach (var (glob, ruleStyle) in _columns)
        {
            if (Glob.IsQualifiedMatch(glob, qualifiedColumn))
            {
                style = style is { } current ? MaskChoice.Strictest(current, ruleStyle) : ruleStyle;
            }
        }
    }
}
