using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Wire.Fuzz.Targets;
using Wire.Postgres.Sql;

namespace Wire.Fuzz;

/// <summary>SQL text assembled from pieces that change how it lexes (quotes, dollar tags, comments, escapes, bodies).</summary>
public sealed record SqlFragments(string[] Pieces)
{
    public byte[] Bytes { get; } = Encoding.UTF8.GetBytes(string.Concat(Pieces));

    public override string ToString() => string.Concat(Pieces).Replace("\n", "\\n", StringComparison.Ordinal);
}

/// <summary>Generators for the SQL properties.</summary>
public static class PgSqlArbitraries
{
    /// <summary>Every piece matters to the lexer or the splitter; combined at random they make the hard cases.</summary>
    private static readonly string[] Fragments =
    [
        "SELECT ", "DELETE FROM ", "UPDATE ", " SET a = 1", "INSERT INTO ", "WITH x AS (", "MERGE INTO ", " USING ", " WHEN MATCHED THEN ",
        "CREATE FUNCTION f() ", "CREATE OR REPLACE PROCEDURE p() ", "BEGIN ATOMIC ", " CASE ", " WHEN ", " END", "END ", " AS ",
        "EXPLAIN ", "ANALYZE ", "PREPARE p AS ", "EXECUTE p", "COPY ", " TO ", " FROM ", " STDIN", " PROGRAM ", "DROP TABLE ",
        " WHERE ", " true", "1=1", " JOIN ", " ON ", "t", "u.v", "\"Q\"", "\"a\"\"b\"", "U&\"d\\0061t\"", " UESCAPE '!'", "f(", "(", ")",
        ",", ";", ".", "::int", "$1", "$$", "$t$", "$", "'", "''", "\\", "\\'", "E'", "e'", "B'", "X'", "N'", "U&'", "\"", "--", "/*", "*/",
        "\n", "\r", " ", "\t", "a$b", "1.5e3", "..", "é", "\u0000", "ARRAY[", "]", "*", "+-", "<>", "IN (", "EXISTS (", "VALUES (",
    ];

    public static Arbitrary<SqlFragments> SqlFragments() =>
        (from count in Gen.Choose(0, 40)
         from pieces in Gen.ArrayOf(Gen.Elements(Fragments), count)
         select new SqlFragments(pieces)).ToArbitrary();
}

/// <summary>
/// The SQL lexer and classifier on hostile input: whatever the bytes, they never throw, always terminate, and keep
/// their invariants (<see cref="PgSqlFuzzTarget.Check"/>: statement ranges inside the input and disjoint, every token
/// accounted for, a statement classified alone classifies the same, the string modes agree when they should).
/// </summary>
public sealed class PgSqlLexerProperties
{
    [Property(MaxTest = 1000)]
    public void Lexer_and_classifier_keep_their_invariants_on_arbitrary_bytes(byte[] input)
        => PgSqlFuzzTarget.Check(input);

    [Property(MaxTest = 200, Arbitrary = [typeof(PgArbitraries)])]
    public void Lexer_and_classifier_keep_their_invariants_on_long_random_bytes(SegmentedBytes input)
        => PgSqlFuzzTarget.Check(input.Bytes);

    [Property(MaxTest = 2000, Arbitrary = [typeof(PgSqlArbitraries)])]
    public void Lexer_and_classifier_keep_their_invariants_on_sql_fragments(SqlFragments input)
        => PgSqlFuzzTarget.Check(input.Bytes);

    [Property(MaxTest = 500)]
    public void Lexer_and_classifier_keep_their_invariants_on_arbitrary_strings(string input)
        => PgSqlFuzzTarget.Check(Encoding.UTF8.GetBytes(input ?? ""));

    [Property(MaxTest = 500, Arbitrary = [typeof(PgSqlArbitraries)])]
    public void The_cache_answers_what_the_classifier_answers(SqlFragments input)
    {
        var cache = new PgClassificationCache(capacity: 4);
        foreach (bool mode in new[] { true, false })
        {
            PgSqlScript direct = PgSqlClassifier.Classify(input.Bytes, mode);
            PgSqlScript once = cache.Classify(input.Bytes, mode); // seen once: classified, not kept
            PgSqlScript cached = cache.Classify(input.Bytes.ToArray(), mode);
            Assert.Same(cached, cache.Classify(input.Bytes.ToArray(), mode));
            Assert.Equal(once.Statements.Select(s => (s.Start, s.Length, s.Kind)), cached.Statements.Select(s => (s.Start, s.Length, s.Kind)));
            Assert.Equal(direct.DependsOnStringMode, cached.DependsOnStringMode);
            Assert.Equal(
                direct.Statements.Select(s => (s.Start, s.Length, s.Kind, s.NormalizedText)),
                cached.Statements.Select(s => (s.Start, s.Length, s.Kind, s.NormalizedText)));
        }
    }

    [Property(MaxTest = 300, Arbitrary = [typeof(PgSqlArbitraries)])]
    public void The_fuzz_target_only_rejects_nul_bytes(SqlFragments input)
    {
        bool rejected = FuzzTargets.RunAcceptingViolations(FuzzTargets.Get("pg-sql"), input.Bytes);
        Assert.Equal(input.Bytes.Contains((byte)0), rejected);
    }
}
