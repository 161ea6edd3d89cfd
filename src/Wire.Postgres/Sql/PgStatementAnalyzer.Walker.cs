using System.Buffers;
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
            _frames = ArrayPool<Frame>.Shared.Rent(16);
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
            Frame[] frames = ArrayPool<Frame>.Shared.Rent(_frames.Length * 2);
            _frames.CopyTo(frames, 0);
            ArrayPool<Frame>.Shared.Return(_frames);
            _frames = frames;
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
            if (parent.PendingCte > 0)
            {
                // A non-recursive CTE is visible only after its own body (inside it, the name means a real table).
                int first = parent.PendingCte - 1;
                AddCte(NameText(first, NameEnd(first)));
                parent.PendingCte = 0;
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

        /// <summary>One past the first token of a non-recursive CTE name waiting for its body to close; 0 when none.</summary>
        public int PendingCte;
    }
}
