namespace Wire.Postgres.Sql;

/// <summary>The walker's calls: whether a name followed by <c>(</c> calls a function.</summary>
internal ref partial struct PgStatementAnalyzer
{
    private void SetNextParen(int index, FrameKind kind)
    {
        _nextParenIndex = index;
        _nextParen = kind;
    }

    /// <summary>
    /// Whether the name [<paramref name="first"/>, <paramref name="last"/>] followed by <c>(</c> is a function call: not
    /// syntax (<c>IN (</c>, <c>OVER (</c>), not a type modifier (<c>varchar(10)</c>), not a name being defined or
    /// referenced by a signature (<c>CREATE FUNCTION f(</c>, <c>EXECUTE p(</c>), not a cast target or an alias. When in
    /// doubt it is a call: reporting one too many is the safe side.
    /// </summary>
    private readonly bool IsCall(in Frame f, int first, int last)
    {
        if (first == last && T(first) == PgSqlTokenKind.Word && IsSyntaxBeforeParen(in f, K(first), first))
        {
            return false;
        }

        if (T(first - 1) == PgSqlTokenKind.TypeCast)
        {
            return false;
        }

        return K(first - 1) switch
        {
            PgKeyword.As or PgKeyword.Function or PgKeyword.Procedure or PgKeyword.Routine or PgKeyword.Aggregate
                or PgKeyword.Type or PgKeyword.Collation or PgKeyword.Statistics or PgKeyword.Configuration
                or PgKeyword.Dictionary or PgKeyword.Parser or PgKeyword.Template or PgKeyword.Exists or PgKeyword.Prepare
                or PgKeyword.Execute or PgKeyword.Declare or PgKeyword.Table or PgKeyword.View or PgKeyword.Sequence
                or PgKeyword.Into or PgKeyword.References or PgKeyword.Only => false,
            _ => true,
        };
    }

    /// <summary>
    /// Whether the keyword <paramref name="kw"/> at <paramref name="i"/>, followed by <c>(</c>, is grammar rather than a call.
    /// Reserved words always are; an unreserved word only where the grammar places it.
    /// </summary>
    private readonly bool IsSyntaxBeforeParen(in Frame f, PgKeyword kw, int i)
    {
        if (PgKeywords.IsNotAFunction(kw) || PgKeywords.IsTypeWithModifier(kw))
        {
            return true;
        }

        PgKeyword previous = K(i - 1);
        bool afterParen = T(i - 1) == PgSqlTokenKind.CloseParen;
        return kw switch
        {
            // count(*) FILTER (WHERE ...) OVER (...), TABLESAMPLE m (p) REPEATABLE (s), (a, b) OVERLAPS (c, d),
            // CREATE TABLE t (...) INHERITS (...), UNIQUE (a) INCLUDE (b)
            PgKeyword.Filter or PgKeyword.Over or PgKeyword.Repeatable or PgKeyword.Overlaps or PgKeyword.Inherits
                or PgKeyword.Include => afterParen,
            PgKeyword.First => previous == PgKeyword.Fetch,
            PgKeyword.Key => previous is PgKeyword.Primary or PgKeyword.Foreign,
            PgKeyword.Hash or PgKeyword.List or PgKeyword.Range => previous is PgKeyword.By or PgKeyword.As,
            PgKeyword.Enum or PgKeyword.Identity => previous == PgKeyword.As,
            PgKeyword.Materialized => previous is PgKeyword.As or PgKeyword.Not,
            PgKeyword.Conflict => previous == PgKeyword.On,
            PgKeyword.Also or PgKeyword.Instead => previous == PgKeyword.Do,
            PgKeyword.Insert or PgKeyword.Update or PgKeyword.Delete => previous == PgKeyword.Then,
            PgKeyword.Sets => previous == PgKeyword.Grouping,
            PgKeyword.Zone => previous == PgKeyword.Time,
            PgKeyword.By => previous is PgKeyword.Group or PgKeyword.Order or PgKeyword.Partition,

            // GROUP BY CUBE (a, b) / ROLLUP (a, b) are grouping syntax; elsewhere they are ordinary calls (the cube extension).
            PgKeyword.Cube or PgKeyword.Rollup => (f.Clause == Clause.GroupBy || f.InGroupBy)
                && (T(i - 1) is PgSqlTokenKind.Comma or PgSqlTokenKind.OpenParen || previous == PgKeyword.By),

            // Definitions: ALTER TABLE t SET (...) / RESET (...), ... OPTIONS (...), a function's RETURN (...).
            PgKeyword.Options or PgKeyword.Reset or PgKeyword.Return => !f.Counts,
            PgKeyword.Set => !f.Counts || f.Verb is Verb.Update or Verb.Insert or Verb.Merge,
            _ => false,
        };
    }
}
