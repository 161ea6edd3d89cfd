using Wire.Enforcement.Policy;

namespace Wire.Postgres.Sql;

/// <summary>
/// The walker: one pass over a token range with a stack of parenthesis frames. Each frame knows what it holds (a query,
/// an expression, a call's arguments, a column list, a parenthesised join) and where in that it is (which clause, what the
/// next name means), which is all it takes to tell a relation from an alias, a call from a column list, and a WHERE of
/// the statement from one in a subquery.
/// </summary>
internal ref partial struct PgStatementAnalyzer
{
    /// <summary>What a parenthesis frame holds.</summary>
    private enum FrameKind : byte
    {
        /// <summary>A statement or query (the top level, a subquery, a CTE body, a rule action list).</summary>
        Statement,

        /// <summary>An expression, a row, an option list: no clauses of its own.</summary>
        Expression,

        /// <summary>The arguments of a function call (<c>extract(year FROM d)</c>: that FROM is no clause).</summary>
        Call,

        /// <summary>A list of column names (INSERT target columns, alias columns, CTE columns, USING (...)).</summary>
        ColumnList,

        /// <summary>A parenthesised join in a FROM list.</summary>
        FromParen,

        /// <summary>A list of relation names (INHERITS (...)).</summary>
        RelationList,
    }

    /// <summary>The statement verb a frame is in.</summary>
    private enum Verb : byte
    {
        None,
        Select,
        Values,
        Table,
        Insert,
        Update,
        Delete,
        Merge,
    }

    /// <summary>The clause a statement frame is in.</summary>
    private enum Clause : byte
    {
        None,
        Target,
        Into,
        From,
        Where,
        GroupBy,
        Set,
        Values,
        Returning,
        Other,
    }

    /// <summary>What the next word means in a frame.</summary>
    private enum Step : byte
    {
        /// <summary>Nothing special: keywords act, names may be calls.</summary>
        None,

        /// <summary>After WITH or a comma in a WITH list: a CTE name.</summary>
        CteName,

        /// <summary>After a CTE name: its column list or AS.</summary>
        CteAfterName,

        /// <summary>After AS [NOT] [MATERIALIZED]: the CTE body.</summary>
        CteAfterAs,

        /// <summary>After a CTE body: a comma, SEARCH/CYCLE, or the main statement.</summary>
        CteAfterBody,

        /// <summary>After INSERT: INTO.</summary>
        InsertInto,

        /// <summary>After INSERT INTO: the target table.</summary>
        InsertTarget,

        /// <summary>After the INSERT target: alias, columns, OVERRIDING, then the rows' source.</summary>
        InsertAfterTarget,

        /// <summary>After UPDATE: the target table.</summary>
        UpdateTarget,

        /// <summary>After DELETE: FROM.</summary>
        DeleteFrom,

        /// <summary>After DELETE FROM: the target table.</summary>
        DeleteTarget,

        /// <summary>After MERGE: INTO.</summary>
        MergeInto,

        /// <summary>After MERGE INTO: the target table.</summary>
        MergeTarget,

        /// <summary>After an UPDATE/DELETE/MERGE target: an optional alias.</summary>
        TargetAlias,

        /// <summary>A FROM item is expected (after FROM, JOIN, a comma, DELETE's USING, MERGE's USING).</summary>
        FromItem,

        /// <summary>After a FROM item: alias, join, sampling, or the end of the FROM list.</summary>
        FromAfterItem,

        /// <summary>After AS in a FROM list: the alias.</summary>
        FromAlias,

        /// <summary>In a join's ON condition.</summary>
        FromJoinCondition,

        /// <summary>A single relation name (after TABLE, REFERENCES, LIKE, PARTITION OF, ...).</summary>
        RelationName,

        /// <summary>After such a relation: maybe a comma and another one.</summary>
        AfterRelation,

        /// <summary>After SELECT ... INTO: [TEMP|UNLOGGED] [TABLE] new table.</summary>
        SelectInto,
    }

    private readonly ref Frame Top => ref _frames[_depth];

    /// <summary>
    /// Walks tokens [<paramref name="from"/>, <paramref name="to"/>). <paramref name="atStatementStart"/>: the first token
    /// begins a statement (a query verb or WITH). <paramref name="counts"/>: the statements found run now, so their kinds,
    /// missing WHEREs and data copies count (false inside definitions: function bodies, rules, views).
    /// </summary>
    private void Walk(int from, int to, bool atStatementStart, bool counts)
    {
        to = Math.Min(to, _tokens.Length);
        if (from < 0 || from >= to)
        {
            return;
        }

        if (_frames.Length == 0)
        {
            _frames = new Frame[8];
        }

        _depth = 0;
        _frames[0] = new Frame { Kind = FrameKind.Statement, AtStatementStart = atStatementStart, Counts = counts };
        _ctes?.Clear();
        _nextParenIndex = -1;
        for (int i = from; i < to; i++)
        {
            switch (_tokens[i].Kind)
            {
                case PgSqlTokenKind.OpenParen:
                    OpenParen(i);
                    break;
                case PgSqlTokenKind.CloseParen:
                    CloseParen();
                    break;
                case PgSqlTokenKind.Semicolon:
                    // Only inside a statement: BEGIN ATOMIC bodies and rule action lists hold several statements.
                    NextStatement(ref Top);
                    break;
                case PgSqlTokenKind.Comma:
                    Comma();
                    break;
                case PgSqlTokenKind.Word:
                case PgSqlTokenKind.QuotedIdentifier:
                    i = Name(i);
                    break;
                default:
                    OtherToken(i);
                    break;
            }
        }

        for (; _depth >= 0; _depth--)
        {
            FinishStatement(ref _frames[_depth]);
        }

        _depth = 0;
    }

    private void OpenParen(int i)
    {
        ref Frame parent = ref Top;
        PgKeyword first = K(i + 1);
        bool query = first is PgKeyword.Select or PgKeyword.Values or PgKeyword.Table or PgKeyword.With;

        // INSERT/UPDATE/DELETE/MERGE are unreserved words (a column may be called "update"), so a parenthesised one is a
        // statement only where a statement can stand: a CTE body, COPY (...), a rule's action list.
        bool dml = first is PgKeyword.Insert or PgKeyword.Update or PgKeyword.Delete or PgKeyword.Merge
            && (parent.Step == Step.CteAfterAs || K(i - 1) is PgKeyword.Copy or PgKeyword.Do or PgKeyword.Also or PgKeyword.Instead);
        FrameKind kind;

        // A query is read as one wherever it stands, even after a word taken for a call: SELECT, VALUES, TABLE and WITH
        // are reserved, so "(SELECT" always opens a query, and its relations must never go unseen.
        if (query || dml || (parent.AtStatementStart && T(i + 1) == PgSqlTokenKind.OpenParen))
        {
            kind = FrameKind.Statement;
        }
        else if (_nextParenIndex == i)
        {
            kind = _nextParen;
        }
        else if (parent.Step == Step.FromItem)
        {
            kind = FrameKind.FromParen;
        }
        else
        {
            kind = parent.Step is Step.CteAfterName or Step.InsertAfterTarget ? FrameKind.ColumnList : FrameKind.Expression;
        }

        bool cteBody = false;
        if (kind == FrameKind.Statement)
        {
            if (parent.Step == Step.CteAfterAs)
            {
                cteBody = true;
            }
            else if (parent.Step == Step.CteAfterBody)
            {
                // WITH ... (SELECT ...): the main statement is a parenthesised query.
                parent.Step = Step.None;
                NoteMain(StatementKind.Select);
            }
            else if (parent.Step == Step.InsertAfterTarget)
            {
                parent.Step = Step.None;
                if (first != PgKeyword.Values && parent.Counts)
                {
                    _copiesData = true;
                }
            }

            if (parent.AtStatementStart)
            {
                NoteMain(StatementKind.Select);
            }
        }

        parent.AtStatementStart = false;
        var child = new Frame
        {
            Kind = kind,
            Counts = parent.Counts,
            AtStatementStart = kind == FrameKind.Statement,
            IsCteBody = cteBody,
            InGroupBy = kind != FrameKind.Statement && (parent.InGroupBy || parent.Clause == Clause.GroupBy),
            FeedsWrite = parent.FeedsWrite || FeedsWrite(in parent),
        };

        if (kind == FrameKind.FromParen)
        {
            child.Step = Step.FromItem;
            child.Clause = Clause.From;
        }

        // A query whose rows become values of an INSERT, or the new value of a column, copies them into the table.
        if (kind == FrameKind.Statement && child.FeedsWrite && child.Counts)
        {
            _copiesData = true;
        }

        if (++_depth == _frames.Length)
        {
            Array.Resize(ref _frames, _frames.Length * 2);
        }

        _frames[_depth] = child;
    }

    private static bool FeedsWrite(in Frame frame)
        => (frame.Verb == Verb.Insert && frame.Clause == Clause.Values)
            || (frame.Verb is Verb.Update or Verb.Insert or Verb.Merge && frame.Clause == Clause.Set);

    private void CloseParen()
    {
        if (_depth == 0)
        {
            // Unbalanced: the server rejects the text, so there is nothing to track.
            return;
        }

        FinishStatement(ref Top);
        _depth--;
        RemoveCtes(_depth + 1);
        ref Frame parent = ref Top;
        if (parent.Step == Step.FromItem)
        {
            parent.Step = Step.FromAfterItem;
        }
        else if (parent.Step == Step.CteAfterAs)
        {
            parent.Step = Step.CteAfterBody;
            if (parent.PendingCte is not null)
            {
                // A non-recursive CTE is visible only after its own body (inside it, the name means a real table).
                AddCte(parent.PendingCte);
                parent.PendingCte = null;
            }
        }
    }

    private void Comma()
    {
        ref Frame f = ref Top;
        f.Step = f.Step switch
        {
            Step.FromAfterItem or Step.FromJoinCondition or Step.FromAlias => Step.FromItem,
            Step.CteAfterBody => Step.CteName,
            Step.AfterRelation when f.RelationList => Step.RelationName,
            Step.CteName or Step.CteAfterName or Step.CteAfterAs or Step.InsertAfterTarget or Step.FromItem => f.Step,
            _ => Step.None,
        };
    }

    private void OtherToken(int i)
    {
        ref Frame f = ref Top;
        f.AtStatementStart = false;
        bool star = T(i) == PgSqlTokenKind.Operator && _tokens[i].Length == 1 && _sql[_tokens[i].Start] == '*';
        if (star && f.Step is Step.TargetAlias or Step.AfterRelation or Step.FromAfterItem)
        {
            // t * : the table and its descendants.
            return;
        }

        if (f.Step is Step.TargetAlias or Step.AfterRelation or Step.FromItem or Step.InsertTarget or Step.UpdateTarget
            or Step.DeleteTarget or Step.MergeTarget or Step.RelationName or Step.SelectInto or Step.InsertInto
            or Step.DeleteFrom or Step.MergeInto)
        {
            f.Step = Step.None;
        }
    }

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
                string cte = NameText(i, cteEnd);
                if (f.Recursive)
                {
                    AddCte(cte);
                }
                else
                {
                    f.PendingCte = cte;
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

    /// <summary>Handles a keyword that changes the frame's clause; returns the last token consumed, or -1 to go on.</summary>
    private int KeywordName(ref Frame f, int i, PgKeyword kw)
    {
        bool clauses = f.Kind is FrameKind.Statement or FrameKind.FromParen;
        switch (kw)
        {
            case PgKeyword.From:
                // Not IS [NOT] DISTINCT FROM, nor the FROM of extract/substring/trim (those sit in call frames).
                if (clauses && K(i - 1) != PgKeyword.Distinct)
                {
                    f.Step = Step.FromItem;
                    f.Clause = Clause.From;
                    if (f.Verb == Verb.Update && f.Counts)
                    {
                        // UPDATE ... FROM other: the new values come from another table.
                        _copiesData = true;
                    }
                }

                return i;
            case PgKeyword.Join:
                if (clauses)
                {
                    f.Step = Step.FromItem;
                }

                return i;
            case PgKeyword.Using:
                if (clauses && f.Verb is Verb.Delete or Verb.Merge && f.Clause == Clause.None)
                {
                    // DELETE ... USING list / MERGE ... USING source
                    f.Step = Step.FromItem;
                    f.Clause = Clause.From;
                    return i;
                }

                // EXCLUDE USING gist (...): an access method, not a call.
                return K(i - 1) == PgKeyword.Exclude && IsName(i + 1) && T(i + 2) == PgSqlTokenKind.OpenParen ? i + 1 : i;
            case PgKeyword.Where:
                f.Step = Step.None;
                f.Clause = Clause.Where;
                if (f.NeedsWhere && !f.HasWhere && !IsConstantPredicate(i + 1))
                {
                    f.HasWhere = true;
                }

                return i;
            case PgKeyword.Set:
                if (f.Verb is Verb.Update or Verb.Insert or Verb.Merge)
                {
                    f.Clause = Clause.Set;
                    f.Step = Step.None;
                    return i;
                }

                // Elsewhere "set" may name a function: set(x).
                return -1;
            case PgKeyword.Into:
                if (f.Verb == Verb.Select && f.Clause == Clause.Target)
                {
                    // SELECT ... INTO new_table creates a table and fills it.
                    if (f.Counts)
                    {
                        _kinds = _kinds.With(StatementKind.Create);
                        _copiesData = true;
                    }

                    f.Clause = Clause.Into;
                    f.Step = Step.SelectInto;
                }

                return i;
            case PgKeyword.Group:
                f.Clause = Clause.GroupBy;
                f.Step = Step.None;
                return i;
            case PgKeyword.Having:
            case PgKeyword.Window:
            case PgKeyword.Order:
            case PgKeyword.Limit:
            case PgKeyword.Offset:
            case PgKeyword.Fetch:
            case PgKeyword.For:
                if (clauses)
                {
                    f.Clause = Clause.Other;
                    f.Step = Step.None;
                }

                return i;
            case PgKeyword.Returning:
                f.Clause = Clause.Returning;
                f.Step = Step.None;
                return i;
            case PgKeyword.Union:
            case PgKeyword.Intersect:
            case PgKeyword.Except:
                if (clauses)
                {
                    FinishStatement(ref f);
                    f.AtStatementStart = true;
                    f.Verb = Verb.None;
                    f.Step = Step.None;
                    f.Clause = Clause.None;
                }

                return i;
            case PgKeyword.Update when K(i - 1) == PgKeyword.Do && f.Counts:
                // INSERT ... ON CONFLICT DO UPDATE: an upsert updates the rows it conflicts with.
                _kinds = _kinds.With(StatementKind.Update);
                return i;
            case PgKeyword.Then:
                if (f.Verb == Verb.Merge)
                {
                    MergeAction(ref f, K(i + 1));
                }

                return i;
            case PgKeyword.When:
                if (f.Verb == Verb.Merge)
                {
                    f.Clause = Clause.Other;
                    f.Step = Step.None;
                }

                return i;
            case PgKeyword.Table:
                if (T(i + 1) != PgSqlTokenKind.OpenParen)
                {
                    // CREATE SCHEMA ... CREATE TABLE t, publications FOR TABLE a, b, ...; not RETURNS TABLE (...).
                    f.Step = Step.RelationName;
                    f.RelationCteAware = false;
                    f.RelationList = true;
                }

                return i;
            case PgKeyword.References:
                f.Step = Step.RelationName;
                f.RelationCteAware = false;
                f.RelationList = false;
                return i;
            case PgKeyword.Inherits when T(i - 1) == PgSqlTokenKind.CloseParen && T(i + 1) == PgSqlTokenKind.OpenParen:
                // CREATE TABLE t (...) INHERITS (parents)
                SetNextParen(i + 1, FrameKind.RelationList);
                return i;
            case PgKeyword.Like when T(i - 1) is PgSqlTokenKind.OpenParen or PgSqlTokenKind.Comma && IsName(i + 1):
                // CREATE TABLE t (LIKE other INCLUDING ALL)
                f.Step = Step.RelationName;
                f.RelationCteAware = false;
                f.RelationList = false;
                return i;
            case PgKeyword.Partition when K(i + 1) == PgKeyword.Of || K(i - 1) is PgKeyword.Attach or PgKeyword.Detach:
                // CREATE TABLE p1 PARTITION OF p, ALTER TABLE p ATTACH PARTITION p1
                f.Step = Step.RelationName;
                f.RelationCteAware = false;
                f.RelationList = false;
                return K(i + 1) == PgKeyword.Of ? i + 1 : i;
            case PgKeyword.Begin when K(i + 1) == PgKeyword.Atomic:
                // The body of a SQL-standard function: statements stored now, run later.
                NextStatement(ref f);
                return i + 1;
            case PgKeyword.Do:
                if (_ruleActions && f.Verb == Verb.None)
                {
                    f.AtStatementStart = true;
                    return K(i + 1) is PgKeyword.Also or PgKeyword.Instead ? i + 1 : i;
                }

                return i;
            case PgKeyword.Select:
                if (f.Kind == FrameKind.Statement && f.Verb == Verb.None)
                {
                    BeginStatement(ref f, kw);
                }

                return i;
            default:
                return -1;
        }
    }

    /// <summary>MERGE ... WHEN ... THEN UPDATE | DELETE | INSERT: each action is a kind the MERGE performs.</summary>
    private void MergeAction(ref Frame f, PgKeyword action)
    {
        StatementKind kind = action switch
        {
            PgKeyword.Update => StatementKind.Update,
            PgKeyword.Delete => StatementKind.Delete,
            PgKeyword.Insert => StatementKind.Insert,
            _ => StatementKind.Other,
        };

        if (kind == StatementKind.Other || !f.Counts)
        {
            return;
        }

        _kinds = _kinds.With(kind);

        // Inserted and updated values come from the source rows.
        _copiesData |= kind != StatementKind.Delete;
    }

    /// <summary>A query verb or WITH, where a statement starts.</summary>
    private void BeginStatement(ref Frame f, PgKeyword verb)
    {
        FinishStatement(ref f);
        f.AtStatementStart = false;
        f.Step = Step.None;
        f.Clause = Clause.None;
        f.HasWhere = false;
        switch (verb)
        {
            case PgKeyword.Select:
                f.Verb = Verb.Select;
                f.Clause = Clause.Target;
                NoteMain(StatementKind.Select);
                break;
            case PgKeyword.Values:
                f.Verb = Verb.Values;
                NoteMain(StatementKind.Select);
                break;
            case PgKeyword.Table:
                f.Verb = Verb.Table;
                f.Step = Step.RelationName;
                f.RelationCteAware = true;
                f.RelationList = false;
                NoteMain(StatementKind.Select);
                break;
            case PgKeyword.Insert:
                f.Verb = Verb.Insert;
                f.Step = Step.InsertInto;
                NoteWrite(in f, StatementKind.Insert);
                break;
            case PgKeyword.Update:
                f.Verb = Verb.Update;
                f.Step = Step.UpdateTarget;
                f.NeedsWhere = f.Counts;
                NoteWrite(in f, StatementKind.Update);
                break;
            case PgKeyword.Delete:
                f.Verb = Verb.Delete;
                f.Step = Step.DeleteFrom;
                f.NeedsWhere = f.Counts;
                NoteWrite(in f, StatementKind.Delete);
                break;
            case PgKeyword.Merge:
                f.Verb = Verb.Merge;
                f.Step = Step.MergeInto;
                NoteWrite(in f, StatementKind.Merge);
                break;
        }
    }

    /// <summary>The first verb at the top level is the statement's kind.</summary>
    private void NoteMain(StatementKind kind)
    {
        if (_depth == 0)
        {
            _mainVerb ??= kind;
        }
    }

    private void NoteWrite(in Frame f, StatementKind kind)
    {
        NoteMain(kind);
        if (f.Counts)
        {
            _kinds = _kinds.With(kind);
            _dataModifyingCte |= f.IsCteBody;
        }
    }

    /// <summary>An UPDATE or DELETE that ends without a WHERE of its own touches every row.</summary>
    private void FinishStatement(ref Frame f)
    {
        if (f.NeedsWhere && !f.HasWhere)
        {
            _noWhere = true;
        }

        f.NeedsWhere = false;
    }

    /// <summary>A <c>;</c> or BEGIN ATOMIC inside a statement: the frame starts over with a new statement.</summary>
    private void NextStatement(ref Frame f)
    {
        FinishStatement(ref f);
        f.AtStatementStart = true;
        f.Verb = Verb.None;
        f.Step = Step.None;
        f.Clause = Clause.None;
        f.HasWhere = false;
        f.Recursive = false;
        f.PendingCte = null;
        f.CaseDepth = 0;
        RemoveCtes(_depth);
    }

    private static bool IsVerb(PgKeyword kw)
        => kw is PgKeyword.Select or PgKeyword.Values or PgKeyword.Table or PgKeyword.Insert or PgKeyword.Update
            or PgKeyword.Delete or PgKeyword.Merge;

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

    /// <summary>
    /// Whether the WHERE predicate from <paramref name="i"/> to the end of its statement holds only constants, parameters
    /// and operators (<c>WHERE true</c>, <c>WHERE 1=1</c>, <c>WHERE 'a' = 'a'</c>, <c>WHERE NOT false</c>): such a WHERE
    /// filters nothing. Stops at the first token that is not, so the scans of all WHEREs together stay linear.
    /// </summary>
    private readonly bool IsConstantPredicate(int i)
    {
        int depth = 0;
        for (; i < _tokens.Length; i++)
        {
            switch (_tokens[i].Kind)
            {
                case PgSqlTokenKind.OpenParen:
                    depth++;
                    break;
                case PgSqlTokenKind.CloseParen:
                    if (--depth < 0)
                    {
                        return true;
                    }

                    break;
                case PgSqlTokenKind.Semicolon:
                    return true;
                case PgSqlTokenKind.Word:
                    if (depth == 0 && K(i) == PgKeyword.Returning)
                    {
                        return true;
                    }

                    if (!PgKeywords.IsConstantPredicateWord(K(i)) && T(i - 1) != PgSqlTokenKind.TypeCast)
                    {
                        return false;
                    }

                    break;
                case PgSqlTokenKind.QuotedIdentifier:
                    if (T(i - 1) != PgSqlTokenKind.TypeCast)
                    {
                        return false;
                    }

                    break;
            }
        }

        return true;
    }

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

    /// <summary>One parenthesis level.</summary>
    private struct Frame
    {
        public FrameKind Kind;
        public Verb Verb;
        public Step Step;
        public Clause Clause;

        /// <summary>The next word begins a statement.</summary>
        public bool AtStatementStart;

        /// <summary>Statements here run now (not inside a definition).</summary>
        public bool Counts;

        /// <summary>The frame is a CTE body.</summary>
        public bool IsCteBody;

        /// <summary>The frame's WITH is RECURSIVE: a CTE is visible inside its own body.</summary>
        public bool Recursive;

        /// <summary>The frame holds an UPDATE or DELETE that counts.</summary>
        public bool NeedsWhere;

        /// <summary>That UPDATE or DELETE has a real WHERE.</summary>
        public bool HasWhere;

        /// <summary>For <see cref="Step.RelationName"/>: the name may be a CTE (TABLE x).</summary>
        public bool RelationCteAware;

        /// <summary>For <see cref="Step.AfterRelation"/>: a comma continues a list of relations.</summary>
        public bool RelationList;

        /// <summary>Inside a GROUP BY clause.</summary>
        public bool InGroupBy;

        /// <summary>Inside an INSERT's VALUES or a SET clause: a query here copies its rows into a table.</summary>
        public bool FeedsWrite;

        /// <summary>Open CASE expressions in a join condition (their WHEN does not end it).</summary>
        public int CaseDepth;

        /// <summary>A non-recursive CTE name waiting for its body to close.</summary>
        public string? PendingCte;
    }
}
