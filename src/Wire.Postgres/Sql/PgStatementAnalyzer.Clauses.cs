using Wire.Enforcement.Policy;

namespace Wire.Postgres.Sql;

/// <summary>The walker's clauses: keywords that move a frame from clause to clause, and the statements frames hold.</summary>
internal ref partial struct PgStatementAnalyzer
{
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
        f.PendingCte = 0;
        f.CaseDepth = 0;
        RemoveCtes(_depth);
    }

    private static bool IsVerb(PgKeyword kw)
        => kw is PgKeyword.Select or PgKeyword.Values or PgKeyword.Table or PgKeyword.Insert or PgKeyword.Update
            or PgKeyword.Delete or PgKeyword.Merge;


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
}
