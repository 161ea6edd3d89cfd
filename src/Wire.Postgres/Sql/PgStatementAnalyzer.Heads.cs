using Wire.Enforcement.Policy;

namespace Wire.Postgres.Sql;

/// <summary>Statement heads: the first words decide the kind and read the names only the head can place.</summary>
internal ref partial struct PgStatementAnalyzer
{
    /// <summary>Classifies the statement starting at token <paramref name="i"/> (after any EXPLAIN) and returns its kind.</summary>
    private StatementKind AnalyzeHead(int i)
    {
        if (T(i) == PgSqlTokenKind.OpenParen)
        {
            return Query(i);
        }

        switch (K(i))
        {
            case PgKeyword.Select:
            case PgKeyword.Values:
            case PgKeyword.Table:
            case PgKeyword.With:
            case PgKeyword.Insert:
            case PgKeyword.Update:
            case PgKeyword.Delete:
            case PgKeyword.Merge:
                return Query(i);
            case PgKeyword.Create:
                Create(i + 1);
                return StatementKind.Create;
            case PgKeyword.Alter:
                Alter(i + 1);
                return StatementKind.Alter;
            case PgKeyword.Drop:
                Drop(i + 1);
                return StatementKind.Drop;
            case PgKeyword.Truncate:
                ReadRelationList(K(i + 1) == PgKeyword.Table ? i + 2 : i + 1, columnLists: false);
                return StatementKind.Truncate;
            case PgKeyword.Grant:
                GrantOrRevoke(i + 1);
                return StatementKind.Grant;
            case PgKeyword.Revoke:
                GrantOrRevoke(i + 1);
                return StatementKind.Revoke;
            case PgKeyword.Copy:
                return Copy(i + 1);
            case PgKeyword.Do:
                _opaqueCode = true;
                return StatementKind.Do;
            case PgKeyword.Call:
                _opaqueCode = true;
                Walk(i + 1, _tokens.Length, atStatementStart: false, counts: true);
                return StatementKind.Call;
            case PgKeyword.Execute:
                Execute(i + 1);
                return StatementKind.Execute;
            case PgKeyword.Prepare:
                if (K(i + 1) == PgKeyword.Transaction)
                {
                    return StatementKind.Transaction;
                }

                if (!_allowPrepare)
                {
                    return StatementKind.Other;
                }

                Prepare(i + 1);
                return StatementKind.Prepare;
            case PgKeyword.Set:
            case PgKeyword.Reset:
                return StatementKind.Set;
            case PgKeyword.Begin:
            case PgKeyword.Start:
            case PgKeyword.Commit:
            case PgKeyword.End:
            case PgKeyword.Rollback:
            case PgKeyword.Abort:
            case PgKeyword.Savepoint:
            case PgKeyword.Release:
                return StatementKind.Transaction;
            case PgKeyword.Vacuum:
                if (VacuumOrAnalyze(i + 1))
                {
                    _kinds = _kinds.With(StatementKind.Analyze);
                }

                return StatementKind.Vacuum;
            case PgKeyword.Analyze:
            case PgKeyword.Analyse:
                VacuumOrAnalyze(i + 1);
                return StatementKind.Analyze;
            case PgKeyword.Listen:
            case PgKeyword.Unlisten:
                return StatementKind.Listen;
            case PgKeyword.Notify:
                return StatementKind.Notify;
            case PgKeyword.Declare:
                return Declare(i + 1);
            case PgKeyword.Lock:
                ReadRelationList(K(i + 1) == PgKeyword.Table ? i + 2 : i + 1, columnLists: false);
                return StatementKind.Other;
            case PgKeyword.Refresh when K(i + 1) == PgKeyword.Materialized && K(i + 2) == PgKeyword.View:
                // REFRESH MATERIALIZED VIEW [CONCURRENTLY] name
                ReadRelation(K(i + 3) == PgKeyword.Concurrently ? i + 4 : i + 3);
                return StatementKind.Other;
            case PgKeyword.Cluster:
                Cluster(i + 1);
                return StatementKind.Other;
            case PgKeyword.Reindex:
                Reindex(i + 1);
                return StatementKind.Other;
            case PgKeyword.Comment:
                Comment(i + 1);
                return StatementKind.Other;
            case PgKeyword.Show:
            case PgKeyword.Import:
            case PgKeyword.Fetch:
            case PgKeyword.Move:
            case PgKeyword.Close:
            case PgKeyword.Deallocate:
            case PgKeyword.Discard:
            case PgKeyword.Load:
            case PgKeyword.Checkpoint:
                return StatementKind.Other;
            default:
                // Unknown statements are still read for names and calls: reporting too much is the safe side.
                Walk(i, _tokens.Length, atStatementStart: false, counts: true);
                return StatementKind.Other;
        }
    }

    /// <summary>SELECT, VALUES, TABLE, WITH, INSERT, UPDATE, DELETE, MERGE or a parenthesised query: the walker finds the verb.</summary>
    private StatementKind Query(int i)
    {
        Walk(i, _tokens.Length, atStatementStart: true, counts: true);
        return _mainVerb ?? StatementKind.Other;
    }

    /// <summary>CREATE [OR REPLACE] [TEMP|UNLOGGED|...] object ...</summary>
    private void Create(int i)
    {
        if (K(i) == PgKeyword.Or && K(i + 1) == PgKeyword.Replace)
        {
            i += 2;
        }

        while (K(i) is PgKeyword.Global or PgKeyword.Local or PgKeyword.Temp or PgKeyword.Temporary or PgKeyword.Unlogged
            or PgKeyword.Recursive or PgKeyword.Unique)
        {
            i++;
        }

        switch (K(i))
        {
            case PgKeyword.Table:
                CreateTableLike(i + 1, copiesWhenQuery: true);
                return;
            case PgKeyword.Foreign when K(i + 1) == PgKeyword.Table:
                CreateTableLike(i + 2, copiesWhenQuery: false);
                return;
            case PgKeyword.Materialized when K(i + 1) == PgKeyword.View:
                CreateTableLike(i + 2, copiesWhenQuery: true);
                return;
            case PgKeyword.View:
            case PgKeyword.Sequence:
                CreateTableLike(i + 1, copiesWhenQuery: false);
                return;
            case PgKeyword.Index:
                CreateIndex(i + 1);
                return;
            case PgKeyword.Trigger:
            case PgKeyword.Policy:
                // CREATE TRIGGER name ... ON table ... / CREATE POLICY name ON table ...
                WalkAfter(ReadRelationAfter(FindTopLevel(i + 1, PgKeyword.On)), i + 1);
                return;
            case PgKeyword.Rule:
                // CREATE RULE name AS ON event TO table [WHERE ...] DO [ALSO|INSTEAD] actions
                int on = FindTopLevel(i + 1, PgKeyword.On);
                _ruleActions = true;
                WalkAfter(on < 0 ? -1 : ReadRelationAfter(FindTopLevel(on, PgKeyword.To)), i + 1);
                return;
            default:
                // Functions, procedures (BEGIN ATOMIC bodies included), schemas, types, domains...: definitions, not executions.
                Walk(i, _tokens.Length, atStatementStart: false, counts: false);
                return;
        }
    }

    /// <summary>
    /// The name of a new table, view, materialized view, sequence or foreign table at <paramref name="i"/>; then either the
    /// query after a top-level AS (which runs now for CREATE TABLE AS and CREATE MATERIALIZED VIEW) or the definition.
    /// </summary>
    private void CreateTableLike(int i, bool copiesWhenQuery)
    {
        int last = ReadRelation(SkipIfExists(i));
        int @as = FindTopLevel(last + 1, PgKeyword.As);
        if (@as < 0)
        {
            Walk(last + 1, _tokens.Length, atStatementStart: false, counts: false);
            return;
        }

        if (copiesWhenQuery)
        {
            _copiesData = true;
            _kinds = _kinds.With(StatementKind.Select);
        }

        Walk(@as + 1, _tokens.Length, atStatementStart: true, counts: copiesWhenQuery);
    }

    /// <summary>CREATE INDEX [CONCURRENTLY] [[IF NOT EXISTS] name] ON [ONLY] table [USING method] (...) ...</summary>
    private void CreateIndex(int i)
    {
        int on = FindTopLevel(i, PgKeyword.On);
        if (on < 0)
        {
            return;
        }

        int after = ReadRelation(on + 1) + 1;

        // The access method's name is followed by the column list, but it is no function call.
        if (K(after) == PgKeyword.Using && IsName(after + 1))
        {
            after += 2;
        }

        Walk(after, _tokens.Length, atStatementStart: false, counts: false);
    }

    /// <summary>Reads the relation after the keyword at <paramref name="keyword"/> (ON t, TO t); -1 when the keyword is missing.</summary>
    private int ReadRelationAfter(int keyword) => keyword < 0 ? -1 : ReadRelation(keyword + 1);

    /// <summary>
    /// Walks the definition after <paramref name="last"/>, or from <paramref name="fallback"/> when the head did not parse.
    /// </summary>
    private void WalkAfter(int last, int fallback)
        => Walk(last >= fallback ? last + 1 : fallback, _tokens.Length, atStatementStart: false, counts: false);

    /// <summary>ALTER object ...</summary>
    private void Alter(int i)
    {
        int name = K(i) switch
        {
            PgKeyword.Table or PgKeyword.Index or PgKeyword.View or PgKeyword.Sequence => i + 1,
            PgKeyword.Materialized when K(i + 1) == PgKeyword.View => i + 2,
            PgKeyword.Foreign when K(i + 1) == PgKeyword.Table => i + 2,
            _ => -1,
        };

        if (name >= 0 && K(name) != PgKeyword.All)
        {
            WalkAfter(ReadRelation(SkipIfExists(name)), i);
            return;
        }

        if (K(i) is PgKeyword.Trigger or PgKeyword.Policy or PgKeyword.Rule)
        {
            WalkAfter(ReadRelationAfter(FindTopLevel(i + 1, PgKeyword.On)), i);
            return;
        }

        Walk(i, _tokens.Length, atStatementStart: false, counts: false);
    }

    /// <summary>DROP object [CONCURRENTLY] [IF EXISTS] names ... Only table-like objects name relations.</summary>
    private void Drop(int i)
    {
        int list = K(i) switch
        {
            PgKeyword.Table or PgKeyword.Index or PgKeyword.View or PgKeyword.Sequence => i + 1,
            PgKeyword.Materialized when K(i + 1) == PgKeyword.View => i + 2,
            PgKeyword.Foreign when K(i + 1) == PgKeyword.Table => i + 2,
            _ => -1,
        };

        if (list >= 0)
        {
            ReadRelationList(SkipIfExists(K(list) == PgKeyword.Concurrently ? list + 1 : list), columnLists: false);
        }
        else if (K(i) is PgKeyword.Trigger or PgKeyword.Policy or PgKeyword.Rule)
        {
            ReadRelationAfter(FindTopLevel(i + 1, PgKeyword.On));
        }
    }

    /// <summary>GRANT/REVOKE privileges ON [TABLE|SEQUENCE] names TO/FROM roles; role grants and other objects name no relation.</summary>
    private void GrantOrRevoke(int i)
    {
        int on = FindTopLevel(i, PgKeyword.On);
        if (on < 0)
        {
            return;
        }

        int objects = on + 1;
        switch (K(objects))
        {
            case PgKeyword.Table:
            case PgKeyword.Sequence:
                ReadRelationList(objects + 1, columnLists: false);
                return;
            case PgKeyword.All:
            case PgKeyword.Schema:
            case PgKeyword.Database:
            case PgKeyword.Function:
            case PgKeyword.Procedure:
            case PgKeyword.Routine:
            case PgKeyword.Language:
            case PgKeyword.Type:
            case PgKeyword.Domain:
            case PgKeyword.Foreign:
            case PgKeyword.Large:
            case PgKeyword.Tablespace:
            case PgKeyword.Parameter:
                return;
            default:
                ReadRelationList(objects, columnLists: false);
                return;
        }
    }

    /// <summary>
    /// COPY table [(columns)] FROM/TO STDIN/STDOUT/'file'/PROGRAM 'command' ..., or COPY (query) TO ...
    /// A server file written by TO, and a program either way, take the data elsewhere than the client.
    /// </summary>
    private StatementKind Copy(int i)
    {
        if (K(i) == PgKeyword.Binary)
        {
            i++;
        }

        if (T(i) == PgSqlTokenKind.OpenParen)
        {
            int close = MatchingParen(i);
            Walk(i, close + 1, atStatementStart: false, counts: true);
            i = close + 1;
        }
        else
        {
            i = ReadRelation(i) + 1;
            if (T(i) == PgSqlTokenKind.OpenParen)
            {
                i = MatchingParen(i) + 1;
            }
        }

        bool to = K(i) == PgKeyword.To;
        if (!to && K(i) != PgKeyword.From)
        {
            return StatementKind.Other;
        }

        // COPY FROM accepts a WHERE filter, the only part after the target that holds expressions.
        int where = FindTopLevel(i + 1, PgKeyword.Where);
        if (where >= 0)
        {
            Walk(where, _tokens.Length, atStatementStart: false, counts: true);
        }

        switch (K(i + 1))
        {
            case PgKeyword.Program:
                _copiesData = true;
                return StatementKind.CopyProgram;
            case PgKeyword.Stdin:
            case PgKeyword.Stdout:
                return to ? StatementKind.CopyTo : StatementKind.CopyFrom;
            default:
                _copiesData |= to;
                return to ? StatementKind.CopyTo : StatementKind.CopyFrom;
        }
    }

    /// <summary>EXECUTE name [(arguments)]: the arguments may hold calls and subqueries.</summary>
    private void Execute(int i)
    {
        if (!IsName(i))
        {
            return;
        }

        int last = NameEnd(i);
        _executeName = NameText(i, last);
        Walk(last + 1, _tokens.Length, atStatementStart: false, counts: true);
    }

    /// <summary>
    /// PREPARE name [(types)] AS statement: the statement is classified on its own (it runs at EXECUTE); its relations and
    /// functions are reported on the PREPARE too, so a rule naming them sees it.
    /// </summary>
    private void Prepare(int i)
    {
        if (!IsName(i))
        {
            return;
        }

        int last = NameEnd(i);
        _preparedName = NameText(i, last);
        int @as = T(last + 1) == PgSqlTokenKind.OpenParen ? MatchingParen(last + 1) + 1 : last + 1;
        if (K(@as) != PgKeyword.As || @as + 1 >= _tokens.Length)
        {
            return;
        }

        _prepared = Analyze(_sql, _tokens[(@as + 1)..], _keywords[(@as + 1)..], allowPrepare: false);
        foreach (string relation in _prepared.Relations)
        {
            (_relations ??= new PgNameList()).Add(relation);
        }

        foreach (string function in _prepared.Functions)
        {
            (_functions ??= new PgNameList()).Add(function);
        }
    }

    /// <summary>DECLARE name [options] CURSOR [WITH[OUT] HOLD] FOR query: runs the query (kind Select, plus what the query does).</summary>
    private StatementKind Declare(int i)
    {
        if (!IsName(i))
        {
            return StatementKind.Other;
        }

        _cursorName = NameText(i, NameEnd(i));
        int cursor = FindTopLevel(i + 1, PgKeyword.Cursor);
        int @for = cursor < 0 ? -1 : FindTopLevel(cursor + 1, PgKeyword.For);
        if (@for < 0)
        {
            return StatementKind.Other;
        }

        Walk(@for + 1, _tokens.Length, atStatementStart: true, counts: true);
        return StatementKind.Select;
    }

    /// <summary>
    /// VACUUM/ANALYZE [(options)] [FULL|FREEZE|VERBOSE|ANALYZE ...] [table [(columns)], ...]; returns whether ANALYZE is
    /// among the options (VACUUM ANALYZE also analyzes).
    /// </summary>
    private bool VacuumOrAnalyze(int i)
    {
        bool analyze = false;
        if (T(i) == PgSqlTokenKind.OpenParen)
        {
            int close = MatchingParen(i);
            analyze = OptionIsOn(i, close, PgKeyword.Analyze, PgKeyword.Analyse);
            i = close + 1;
        }

        while (K(i) is PgKeyword.Full or PgKeyword.Freeze or PgKeyword.Verbose or PgKeyword.Analyze or PgKeyword.Analyse)
        {
            analyze |= K(i) is PgKeyword.Analyze or PgKeyword.Analyse;
            i++;
        }

        ReadRelationList(i, columnLists: true);
        return analyze;
    }

    /// <summary>CLUSTER [VERBOSE] [(options)] [table [USING index]]</summary>
    private void Cluster(int i)
    {
        if (T(i) == PgSqlTokenKind.OpenParen)
        {
            i = MatchingParen(i) + 1;
        }

        ReadRelation(K(i) == PgKeyword.Verbose ? i + 1 : i);
    }

    /// <summary>REINDEX [(options)] {INDEX|TABLE} [CONCURRENTLY] name; schemas, databases and the system name no relation.</summary>
    private void Reindex(int i)
    {
        if (T(i) == PgSqlTokenKind.OpenParen)
        {
            i = MatchingParen(i) + 1;
        }

        if (K(i) is PgKeyword.Table or PgKeyword.Index)
        {
            i++;
            ReadRelation(K(i) == PgKeyword.Concurrently ? i + 1 : i);
        }
    }

    /// <summary>COMMENT ON {TABLE|VIEW|MATERIALIZED VIEW|INDEX|SEQUENCE|FOREIGN TABLE} name, or COLUMN table.column.</summary>
    private void Comment(int i)
    {
        if (K(i) != PgKeyword.On)
        {
            return;
        }

        i++;
        switch (K(i))
        {
            case PgKeyword.Table:
            case PgKeyword.View:
            case PgKeyword.Index:
            case PgKeyword.Sequence:
                ReadRelation(i + 1);
                return;
            case PgKeyword.Materialized:
            case PgKeyword.Foreign:
                ReadRelation(i + 2);
                return;
            case PgKeyword.Column when IsName(i + 1):
                // The relation is the name without its last part.
                int last = NameEnd(i + 1);
                int table = last;
                while (table > i + 1 && T(table) != PgSqlTokenKind.Dot)
                {
                    table--;
                }

                if (table > i + 1)
                {
                    AddRelation(i + 1, table - 1);
                }

                return;
        }
    }
}
