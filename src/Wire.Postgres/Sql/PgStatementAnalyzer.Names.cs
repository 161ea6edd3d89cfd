using Wire.Enforcement.Policy;

namespace Wire.Postgres.Sql;

/// <summary>The walker's names: what a word means where it stands (a relation, an alias, a CTE, a call, a keyword).</summary>
internal ref partial struct PgStatementAnalyzer
{
    /// <summary>A word or quoted identifier at <paramref name="i"/>; returns the last token it consumed.</summary>
    private int Name(int i)
    {
        ref Frame f = ref Top;
        PgKeyword kw = K(i);
        if (f.Kind == FrameKind.RelationList)
        {
            int last = NameEnd(i);
            AddRelation(i, last);
            return last;
        }

        switch (f.Step)
        {
            case Step.CteName:
                if (kw == PgKeyword.Recursive)
                {
                    f.Recursive = true;
                    return i;
                }

                int cteEnd = NameEnd(i);
                if (f.Recursive)
                {
                    AddCte(NameText(i, cteEnd));
                }
                else
                {
                    f.PendingCte = i + 1;
                }

                f.Step = Step.CteAfterName;
                return cteEnd;
            case Step.CteAfterName:
                if (kw == PgKeyword.As)
                {
                    f.Step = Step.CteAfterAs;
                }

                return i;
            case Step.CteAfterAs:
                return i;
            case Step.CteAfterBody:
                if (!IsVerb(kw))
                {
                    // SEARCH ... SET col, CYCLE ... SET col USING path
                    return i;
                }

                f.Step = Step.None;
                f.AtStatementStart = true;
                break;
            case Step.InsertAfterTarget:
                switch (kw)
                {
                    case PgKeyword.As:
                        return i + 1;
                    case PgKeyword.Default:
                    case PgKeyword.Values:
                        f.Step = Step.None;
                        f.Clause = Clause.Values;
                        return i;
                    case PgKeyword.Select:
                    case PgKeyword.Table:
                    case PgKeyword.With:
                        f.Step = Step.None;
                        f.AtStatementStart = true;
                        if (f.Counts)
                        {
                            _copiesData = true;
                        }

                        break;
                    case PgKeyword.On:
                    case PgKeyword.Returning:
                        f.Step = Step.None;
                        break;
                    default:
                        // OVERRIDING { SYSTEM | USER } VALUE
                        return i;
                }

                break;
        }

        if (f.AtStatementStart)
        {
            switch (kw)
            {
                case PgKeyword.With:
                    f.AtStatementStart = false;
                    f.Step = Step.CteName;
                    return i;
                case PgKeyword.All:
                case PgKeyword.Distinct:
                    // UNION ALL / UNION DISTINCT
                    return i;
                case PgKeyword.Select:
                case PgKeyword.Values:
                case PgKeyword.Table:
                case PgKeyword.Insert:
                case PgKeyword.Update:
                case PgKeyword.Delete:
                case PgKeyword.Merge:
                    BeginStatement(ref f, kw);
                    return i;
                case PgKeyword.Execute when IsName(i + 1):
                    // CREATE TABLE ... AS EXECUTE name: runs a prepared statement.
                    f.AtStatementStart = false;
                    int executeEnd = NameEnd(i + 1);
                    _executeName ??= NameText(i + 1, executeEnd);
                    if (f.Counts)
                    {
                        _kinds = _kinds.With(StatementKind.Execute);
                    }

                    return executeEnd;
                default:
                    f.AtStatementStart = false;
                    break;
            }
        }

        int handled = StepName(ref f, i, kw);
        if (handled >= 0)
        {
            return handled;
        }

        handled = KeywordName(ref f, i, kw);
        if (handled >= 0)
        {
            return handled;
        }

        int end = NameEnd(i);
        if (T(end + 1) == PgSqlTokenKind.OpenParen && IsCall(in f, i, end))
        {
            AddFunction(i, end);
            SetNextParen(end + 1, FrameKind.Call);
        }

        return end;
    }

    /// <summary>Handles a name the frame's step gives a meaning to; returns the last token consumed, or -1 to go on.</summary>
    private int StepName(ref Frame f, int i, PgKeyword kw)
    {
        switch (f.Step)
        {
            case Step.InsertInto:
                f.Step = kw == PgKeyword.Into ? Step.InsertTarget : Step.None;
                return kw == PgKeyword.Into ? i : -1;
            case Step.DeleteFrom:
                f.Step = kw == PgKeyword.From ? Step.DeleteTarget : Step.None;
                return kw == PgKeyword.From ? i : -1;
            case Step.MergeInto:
                f.Step = kw == PgKeyword.Into ? Step.MergeTarget : Step.None;
                return kw == PgKeyword.Into ? i : -1;
            case Step.InsertTarget:
            case Step.UpdateTarget:
            case Step.DeleteTarget:
            case Step.MergeTarget:
            {
                if (kw == PgKeyword.Only)
                {
                    return i;
                }

                // A write target is always a real table: a CTE of the same name does not hide it.
                int last = NameEnd(i);
                AddRelation(i, last);
                f.Step = f.Step == Step.InsertTarget ? Step.InsertAfterTarget : Step.TargetAlias;
                return last;
            }

            case Step.TargetAlias:
                f.Step = Step.None;
                if (kw == PgKeyword.As)
                {
                    return i + 1;
                }

                return IsAlias(i) ? i : -1;
            case Step.FromItem:
                return FromItem(ref f, i, kw);
            case Step.FromAfterItem:
                return AfterFromItem(ref f, i, kw);
            case Step.FromAlias:
                f.Step = Step.FromAfterItem;
                AliasColumns(i);
                return i;
            case Step.FromJoinCondition:
                return JoinCondition(ref f, i, kw);
            case Step.RelationName:
            {
                if (kw is PgKeyword.If or PgKeyword.Not or PgKeyword.Exists or PgKeyword.Only)
                {
                    return i;
                }

                int last = NameEnd(i);
                if (!f.RelationCteAware || !IsCte(i, last))
                {
                    AddRelation(i, last);
                }

                f.Step = Step.AfterRelation;
                if (T(last + 1) == PgSqlTokenKind.OpenParen)
                {
                    SetNextParen(last + 1, FrameKind.ColumnList);
                }

                return last;
            }

            case Step.AfterRelation:
                f.Step = Step.None;
                return -1;
            case Step.SelectInto:
            {
                if (kw is PgKeyword.Temp or PgKeyword.Temporary or PgKeyword.Unlogged or PgKeyword.Table or PgKeyword.Local
                    or PgKeyword.Global)
                {
                    return i;
                }

                int last = NameEnd(i);
                AddRelation(i, last);
                f.Step = Step.None;
                return last;
            }

            default:
                return -1;
        }
    }

    private int FromItem(ref Frame f, int i, PgKeyword kw)
    {
        if (kw is PgKeyword.Lateral or PgKeyword.Only)
        {
            return i;
        }

        if (kw == PgKeyword.Rows && K(i + 1) == PgKeyword.From)
        {
            // ROWS FROM (f(...), g(...)): the parenthesis that follows holds calls.
            return i + 1;
        }

        // Unreserved words (a table may be called "update" or "set") are names here; reserved ones end the list.
        if (PgKeywords.IsNotAnAlias(kw)
            && kw is not (PgKeyword.Insert or PgKeyword.Update or PgKeyword.Delete or PgKeyword.Merge or PgKeyword.Set
                or PgKeyword.Values or PgKeyword.Overriding))
        {
            f.Step = Step.None;
            return -1;
        }

        int last = NameEnd(i);
        if (T(last + 1) == PgSqlTokenKind.OpenParen)
        {
            AddFunction(i, last);
            SetNextParen(last + 1, FrameKind.Call);
        }
        else if (!IsCte(i, last))
        {
            AddRelation(i, last);
        }

        f.Step = Step.FromAfterItem;
        return last;
    }

    private int AfterFromItem(ref Frame f, int i, PgKeyword kw)
    {
        switch (kw)
        {
            case PgKeyword.As:
                f.Step = Step.FromAlias;
                return i;
            case PgKeyword.Join:
                f.Step = Step.FromItem;
                return i;
            case PgKeyword.Inner:
            case PgKeyword.Left:
            case PgKeyword.Right:
            case PgKeyword.Full:
            case PgKeyword.Outer:
            case PgKeyword.Cross:
            case PgKeyword.Natural:
            case PgKeyword.With:
            case PgKeyword.Repeatable:
                return i;
            case PgKeyword.On:
                f.Step = Step.FromJoinCondition;
                f.CaseDepth = 0;
                return i;
            case PgKeyword.Using:
                if (T(i + 1) == PgSqlTokenKind.OpenParen)
                {
                    SetNextParen(i + 1, FrameKind.ColumnList);
                }

                return i;
            case PgKeyword.Tablesample:
                // The sampling method is a handler the server calls itself, like an index's access method.
                return IsName(i + 1) ? i + 1 : i;
        }

        if (IsAlias(i))
        {
            AliasColumns(i);
            return i;
        }

        f.Step = Step.None;
        return -1;
    }

    private int JoinCondition(ref Frame f, int i, PgKeyword kw)
    {
        switch (kw)
        {
            case PgKeyword.Join:
                f.Step = Step.FromItem;
                return i;
            case PgKeyword.Inner or PgKeyword.Left or PgKeyword.Right or PgKeyword.Full or PgKeyword.Cross or PgKeyword.Natural
                when T(i + 1) != PgSqlTokenKind.OpenParen:
                f.Step = Step.FromAfterItem;
                return i;
            case PgKeyword.Case:
                f.CaseDepth++;
                return -1;
            case PgKeyword.End:
                f.CaseDepth = Math.Max(0, f.CaseDepth - 1);
                return -1;
            case PgKeyword.When when f.CaseDepth == 0:
            case PgKeyword.Where or PgKeyword.Group or PgKeyword.Having or PgKeyword.Window or PgKeyword.Order or PgKeyword.Limit
                or PgKeyword.Offset or PgKeyword.Fetch or PgKeyword.For or PgKeyword.Union or PgKeyword.Intersect
                or PgKeyword.Except or PgKeyword.Returning or PgKeyword.Set:
                f.Step = Step.None;
                return -1;
            default:
                return -1;
        }
    }

    /// <summary>An alias followed by <c>(</c> has a column list, not a call.</summary>
    private void AliasColumns(int i)
    {
        if (T(i + 1) == PgSqlTokenKind.OpenParen)
        {
            SetNextParen(i + 1, FrameKind.ColumnList);
        }
    }

    private readonly bool IsAlias(int i)
        => T(i) == PgSqlTokenKind.QuotedIdentifier || (T(i) == PgSqlTokenKind.Word && !PgKeywords.IsNotAnAlias(K(i)));


    private void AddCte(string name) => (_ctes ??= []).Add((name, _depth));

    /// <summary>Whether an unqualified name refers to a CTE in scope (one of this frame's or an enclosing frame's WITH).</summary>
    private readonly bool IsCte(int first, int last)
    {
        if (_ctes is null || _ctes.Count == 0 || first != last)
        {
            return false;
        }

        string name = NameText(first, last);
        foreach ((string cte, int depth) in _ctes)
        {
            if (depth <= _depth && string.Equals(cte, name, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Forgets the CTEs of frames at depth <paramref name="depth"/> and deeper.</summary>
    private readonly void RemoveCtes(int depth)
    {
        if (_ctes is null)
        {
            return;
        }

        for (int i = _ctes.Count - 1; i >= 0 && _ctes[i].Depth >= depth; i--)
        {
            _ctes.RemoveAt(i);
        }
    }
}
