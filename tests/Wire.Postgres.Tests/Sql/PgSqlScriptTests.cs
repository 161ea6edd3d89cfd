using System.Text;
using Wire.Enforcement.Policy;
using Wire.Postgres.Sql;

namespace Wire.Postgres.Tests.Sql;

/// <summary>Splitting texts into statements, string modes, and the statement fields beyond kinds and names.</summary>
public sealed class PgSqlScriptTests
{
    private static PgSqlScript Classify(string sql, bool standardConformingStrings = true)
        => PgSqlClassifier.Classify(Encoding.UTF8.GetBytes(sql), standardConformingStrings);

    private static StatementKind[] Kinds(string sql, bool standardConformingStrings = true)
        => [.. Classify(sql, standardConformingStrings).Statements.Select(s => s.Kind)];

    [Fact]
    public void Several_statements_are_split_at_top_level_semicolons()
    {
        const string sql = "SELECT 1; DELETE FROM t ;\n  UPDATE u SET a = ';' WHERE b = 1;";
        var script = Classify(sql);
        Assert.Equal([StatementKind.Select, StatementKind.Delete, StatementKind.Update], script.Statements.Select(s => s.Kind));
        Assert.Equal(
            ["SELECT 1", "DELETE FROM t", "UPDATE u SET a = ';' WHERE b = 1"],
            script.Statements.Select(s => sql.Substring(s.Start, s.Length)));
        Assert.False(script.DependsOnStringMode);
    }

    [Theory]
    [InlineData("")]
    [InlineData(";")]
    [InlineData(";;")]
    [InlineData("  \n\t")]
    [InlineData("/* comment */ ; -- another\n;")]
    [InlineData("-- only")]
    public void Empty_statements_are_dropped(string sql)
    {
        Assert.Empty(Classify(sql).Statements);
    }

    [Fact]
    public void Empty_statements_between_real_ones_are_dropped()
    {
        Assert.Equal([StatementKind.Select, StatementKind.Select], Kinds(";SELECT 1;; /* x */ ;SELECT 2;"));
    }

    [Fact]
    public void Semicolons_in_literals_identifiers_and_comments_do_not_split()
    {
        Assert.Equal(
            [StatementKind.Select],
            Kinds("SELECT ';', \";\", $$;$$, $q$;$q$, E'\\';', B'0', U&';' /* ; */ -- ;\n FROM t"));
    }

    [Fact]
    public void Semicolons_inside_parentheses_do_not_split()
    {
        var script = Classify("CREATE RULE r AS ON INSERT TO t DO INSTEAD (INSERT INTO u VALUES (1); DELETE FROM v); SELECT 1");
        Assert.Equal([StatementKind.Create, StatementKind.Select], script.Statements.Select(s => s.Kind));
    }

    [Fact]
    public void Standard_conforming_strings_decide_where_a_constant_ends()
    {
        const string sql = "SELECT 'x\\''; DROP TABLE t; --'";
        var on = Classify(sql, standardConformingStrings: true);
        Assert.Equal(StatementKind.Select, Assert.Single(on.Statements).Kind);
        Assert.True(on.DependsOnStringMode);

        var off = Classify(sql, standardConformingStrings: false);
        Assert.Equal([StatementKind.Select, StatementKind.Drop], off.Statements.Select(s => s.Kind));
        Assert.Equal(["t"], off.Statements[1].Relations);
        Assert.True(off.DependsOnStringMode);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Escape_strings_escape_in_both_modes(bool standardConformingStrings)
    {
        var script = Classify("SELECT E'\\''; DROP TABLE t; --'", standardConformingStrings);
        Assert.Equal([StatementKind.Select, StatementKind.Drop], script.Statements.Select(s => s.Kind));
        Assert.False(script.DependsOnStringMode);
    }

    [Theory]
    [InlineData("SELECT 'a\\b'", true)]
    [InlineData("SELECT N'a\\b'", true)]
    [InlineData("SELECT 'a'", false)]
    [InlineData("SELECT E'a\\b'", false)]
    [InlineData("SELECT $$a\\b$$", false)]
    [InlineData("SELECT \"a\\b\"", false)]
    [InlineData("SELECT 1 -- 'a\\b'", false)]
    public void Depends_on_string_mode_only_for_a_backslash_in_a_plain_constant(string sql, bool depends)
    {
        Assert.Equal(depends, Classify(sql).DependsOnStringMode);
        Assert.Equal(depends, Classify(sql, standardConformingStrings: false).DependsOnStringMode);
    }

    [Fact]
    public void A_dollar_quoted_function_body_is_not_split()
    {
        var script = Classify("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; DROP TABLE t; $$; SELECT 2");
        Assert.Equal([StatementKind.Create, StatementKind.Select], script.Statements.Select(s => s.Kind));
        Assert.Empty(script.Statements[0].Relations);
    }

    [Fact]
    public void A_begin_atomic_body_is_not_split()
    {
        var script = Classify(
            "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC "
            + "SELECT CASE WHEN true THEN 1 ELSE 2 END; DELETE FROM t; UPDATE u SET a = (CASE WHEN a THEN 1 END); END; "
            + "DROP TABLE x");
        Assert.Equal([StatementKind.Create, StatementKind.Drop], script.Statements.Select(s => s.Kind));
        PgStatement create = script.Statements[0];
        Assert.Equal(["t", "u"], create.Relations);
        Assert.Equal(StatementKindSet.Of(StatementKind.Create), create.Kinds);
        Assert.False(create.NoWhere);
        Assert.EndsWith("end", create.NormalizedText, StringComparison.Ordinal);
    }

    [Fact]
    public void Begin_alone_is_not_an_atomic_body()
    {
        // A function may be called "begin": only BEGIN ATOMIC opens a body.
        Assert.Equal(
            [StatementKind.Create, StatementKind.Drop],
            Kinds("CREATE FUNCTION begin() RETURNS int AS $$select 1$$ LANGUAGE sql; DROP TABLE t"));
        Assert.Equal([StatementKind.Transaction, StatementKind.Select, StatementKind.Transaction], Kinds("BEGIN; SELECT 1; END"));
    }

    [Theory]
    [InlineData("SELECT 1 AS case; END; DROP TABLE t; END")]
    [InlineData("SELECT 1 case; END; DROP TABLE t; END")]
    [InlineData("SELECT x.case FROM x; END; DROP TABLE t; END")]
    [InlineData("SELECT 1 case FROM x; END; DROP TABLE t; END")]
    public void A_label_spelled_case_does_not_hide_a_statement_after_the_body(string body)
    {
        // The server ends the body at the first END; a DROP after it runs, so Wire must see it as a statement.
        var script = Classify("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC " + body);
        Assert.Contains(script.Statements, s => s.Kind == StatementKind.Drop && s.Relations.SequenceEqual(["t"]));
    }

    [Fact]
    public void A_label_spelled_end_splits_early_which_only_shows_more()
    {
        var script = Classify("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 end; DELETE FROM t; END");
        Assert.Contains(script.Statements, s => s.Kind == StatementKind.Delete);
    }

    [Fact]
    public void Normalized_text_drops_comments_collapses_whitespace_and_lowers_unquoted_words()
    {
        var statement = Assert.Single(Classify("  SELECT  *\n FROM/* c */\"MyT\"  WHERE A = 'X  Y' -- tail\n ; ").Statements);
        Assert.Equal("select * from \"MyT\" where a = 'X  Y'", statement.NormalizedText);
        Assert.Equal("drop table x", Assert.Single(Classify("DrOp/**/TABLE x").Statements).NormalizedText);
        Assert.Equal("select f(x)+1::int", Assert.Single(Classify("SELECT F(X)+1::INT").Statements).NormalizedText);
        Assert.Equal("select $$ A B $$, E'\\n', $1", Assert.Single(Classify("SELECT $$ A B $$, E'\\n', $1").Statements).NormalizedText);
    }

    [Fact]
    public void Statement_ranges_cover_first_to_last_token()
    {
        const string sql = "/* lead */ SELECT 1 /* trail */;\n\n  DELETE FROM t -- x";
        var script = Classify(sql);
        Assert.Equal((11, 8), (script.Statements[0].Start, script.Statements[0].Length));
        Assert.Equal("DELETE FROM t", sql.Substring(script.Statements[1].Start, script.Statements[1].Length));
    }

    [Fact]
    public void Prepare_holds_the_classified_statement()
    {
        var statement = Assert.Single(Classify("PREPARE \"Q1\" (int, text) AS DELETE FROM t WHERE true").Statements);
        Assert.Equal(StatementKind.Prepare, statement.Kind);
        Assert.Equal(StatementKindSet.Of(StatementKind.Prepare), statement.Kinds);
        Assert.Equal("Q1", statement.PreparedName);
        Assert.False(statement.NoWhere);

        PgStatement prepared = Assert.IsType<PgStatement>(statement.Prepared);
        Assert.Equal(StatementKind.Delete, prepared.Kind);
        Assert.True(prepared.NoWhere);
        Assert.Equal(["t"], prepared.Relations);
        Assert.Equal("delete from t where true", prepared.NormalizedText);
        Assert.Equal(["t"], statement.Relations);
    }

    [Fact]
    public void Prepare_of_a_prepare_is_not_followed()
    {
        var statement = Assert.Single(Classify("PREPARE a AS PREPARE b AS PREPARE c AS SELECT 1").Statements);
        Assert.Equal(StatementKind.Other, statement.Prepared!.Kind);
        Assert.Null(statement.Prepared.Prepared);
    }

    [Fact]
    public void Execute_declare_and_explain_report_their_names()
    {
        Assert.Equal("p1", Assert.Single(Classify("EXECUTE P1 (1, 'x')").Statements).ExecuteName);
        Assert.Equal("p", Assert.Single(Classify("CREATE TABLE t AS EXECUTE p").Statements).ExecuteName);

        var declare = Assert.Single(Classify("DECLARE \"C\" SCROLL CURSOR FOR SELECT 1").Statements);
        Assert.Equal("C", declare.CursorName);
        Assert.Equal(StatementKind.Select, declare.Kind);

        var explain = Assert.Single(Classify("EXPLAIN ANALYZE EXECUTE p").Statements);
        Assert.Equal((StatementKind.Execute, "p", true), (explain.Kind, explain.ExecuteName, explain.Explain));
    }

    [Fact]
    public void Long_identifiers_are_cut_to_63_bytes_like_the_server_cuts_them()
    {
        string name = new('a', 70);
        Assert.Equal([new string('a', 63)], Assert.Single(Classify($"SELECT * FROM {name}").Statements).Relations);

        // A multi-byte character is never split.
        string accented = new string('a', 62) + "é";
        Assert.Equal([new string('a', 62)], Assert.Single(Classify($"SELECT * FROM \"{accented}\"").Statements).Relations);
    }

    [Fact]
    public void Deep_nesting_and_long_texts_take_no_stack()
    {
        string deep = "SELECT " + new string('(', 200_000) + "1" + new string(')', 200_000);
        Assert.Equal(StatementKind.Select, Assert.Single(Classify(deep).Statements).Kind);

        string subqueries = "SELECT * FROM t WHERE a IN " + string.Concat(Enumerable.Repeat("(SELECT a FROM u WHERE a IN ", 20_000)) + "(1)"
            + new string(')', 20_000);
        var statement = Assert.Single(Classify(subqueries).Statements);
        Assert.Equal(["t", "u"], statement.Relations);

        string many = "SELECT * FROM " + string.Join(", ", Enumerable.Range(0, 20_000).Select(i => $"t{i}"));
        Assert.Equal(20_000, Assert.Single(Classify(many).Statements).Relations.Count);
    }

    [Fact]
    public void Prepared_statement_text_with_invalid_utf8_still_classifies()
    {
        byte[] sql = [.. "DELETE FROM \""u8, 0xFF, (byte)'"', (byte)';', 0, 0xC3];
        var script = PgSqlClassifier.Classify(sql, standardConformingStrings: true);
        Assert.Equal(StatementKind.Delete, script.Statements[0].Kind);
        Assert.Equal(["\uFFFD"], script.Statements[0].Relations);
        Assert.Equal(2, script.Statements.Count);
    }
}
