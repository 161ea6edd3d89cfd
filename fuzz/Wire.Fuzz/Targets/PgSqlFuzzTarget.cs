using Wire.Postgres.Sql;

namespace Wire.Fuzz.Targets;

/// <summary>
/// SQL text as a simple Query or a Parse carries it, read by <see cref="PgSqlLexer"/> and <see cref="PgSqlClassifier"/>
/// under both <c>standard_conforming_strings</c> settings. Neither may throw, on any bytes; and:
/// tokens are ordered, non-empty and inside the input; statements are ordered, disjoint, inside the input, and together
/// with the <c>;</c> between them hold every token; a statement classified alone classifies the same; the text depends
/// on the string mode exactly when both modes say so, and otherwise both modes agree. The message carries the text as a
/// C string, so a NUL inside it is a malformed message: once the checks pass, that is reported as the protocol violation
/// the session raises.
/// </summary>
public sealed class PgSqlFuzzTarget : IFuzzTarget
{
    public string Name => "pg-sql";

    public void Run(ReadOnlySpan<byte> input)
    {
        Check(input);
        if (input.Contains((byte)0))
        {
            ProtocolViolationException.Throw("query text holds a NUL byte");
        }
    }

    /// <summary>Runs the lexer and the classifier on <paramref name="sql"/> in both string modes and checks every invariant.</summary>
    public static void Check(ReadOnlySpan<byte> sql)
    {
        PgSqlScript standard = CheckMode(sql, standardConformingStrings: true);
        PgSqlScript escaping = CheckMode(sql, standardConformingStrings: false);
        if (standard.DependsOnStringMode != escaping.DependsOnStringMode)
        {
            throw new FuzzInvariantException("the two string modes disagree on whether the text depends on the mode");
        }

        if (!standard.DependsOnStringMode)
        {
            // Without a backslash in a plain constant, the modes lex alike, so everything must agree.
            Require(standard.Statements.Count == escaping.Statements.Count, "the string modes split a mode-independent text differently");
            for (int i = 0; i < standard.Statements.Count; i++)
            {
                RequireSame(standard.Statements[i], escaping.Statements[i], "the string modes classify a mode-independent statement apart");
            }
        }
    }

    private static PgSqlScript CheckMode(ReadOnlySpan<byte> sql, bool standardConformingStrings)
    {
        List<PgSqlToken> tokens = Lex(sql, standardConformingStrings);
        PgSqlScript script = PgSqlClassifier.Classify(sql, standardConformingStrings);

        // Every token is in exactly one statement, or is a ; between statements.
        int next = 0;
        int previousEnd = 0;
        foreach (PgStatement statement in script.Statements)
        {
            Require(statement.Start >= previousEnd && statement.Length > 0 && statement.Start + statement.Length <= sql.Length,
                "a statement range is out of order, empty or outside the input");
            while (next < tokens.Count && tokens[next].Start < statement.Start)
            {
                Require(tokens[next].Kind == PgSqlTokenKind.Semicolon, "a token outside every statement is not a semicolon");
                next++;
            }

            Require(next < tokens.Count && tokens[next].Start == statement.Start, "a statement does not start at a token");
            while (next < tokens.Count && tokens[next].End <= statement.Start + statement.Length)
            {
                next++;
            }

            Require(tokens[next - 1].End == statement.Start + statement.Length, "a statement does not end at a token");
            previousEnd = statement.Start + statement.Length;
            CheckStatement(statement, statement.Start, previousEnd);

            // The statement's own text lexes to the same tokens, so alone it must classify the same.
            PgSqlScript alone = PgSqlClassifier.Classify(sql.Slice(statement.Start, statement.Length), standardConformingStrings);
            Require(alone.Statements.Count == 1, "a statement's own text splits into several statements");
            RequireSame(statement, alone.Statements[0], "a statement classifies differently alone");
        }

        for (; next < tokens.Count; next++)
        {
            Require(tokens[next].Kind == PgSqlTokenKind.Semicolon, "a token after the last statement is not a semicolon");
        }

        return script;
    }

    private static List<PgSqlToken> Lex(ReadOnlySpan<byte> sql, bool standardConformingStrings)
    {
        var tokens = new List<PgSqlToken>();
        var lexer = new PgSqlLexer(sql, standardConformingStrings);
        int end = 0;
        while (lexer.Next(out PgSqlToken token))
        {
            Require(token.Start >= end && token.Length > 0 && token.End <= sql.Length, "a token is out of order, empty or outside");
            Require(tokens.Count < sql.Length, "the lexer returned more tokens than there are bytes");
            end = token.End;
            tokens.Add(token);
        }

        Require(lexer.Position == sql.Length, "the lexer stopped before the end of the input");
        return tokens;
    }

    private static void CheckStatement(PgStatement statement, int start, int end)
    {
        Require(statement.Kinds.Contains(statement.Kind), "Kinds lacks Kind");
        Require(statement.NormalizedText.Length > 0, "normalized text is empty");
        Require(AreDistinctNames(statement.Relations), "relations hold an empty or repeated name");
        Require(AreDistinctNames(statement.Functions), "functions hold an empty or repeated name");
        Require(statement.Functions.Count == 0 || statement.OpaqueCode || statement.Kind == Wire.Enforcement.Policy.StatementKind.Prepare,
            "a statement calls functions but is not opaque");
        if (statement.Prepared is { } prepared)
        {
            Require(prepared.Start >= start && prepared.Start + prepared.Length == end, "the prepared statement is not inside the PREPARE");
            Require(prepared.Prepared is null, "a prepared statement holds another prepared statement");
            CheckStatement(prepared, prepared.Start, end);
        }
    }

    private static bool AreDistinctNames(IReadOnlyList<string> names)
        => names.All(n => n.Length > 0) && names.Distinct(StringComparer.Ordinal).Count() == names.Count;

    private static void RequireSame(PgStatement a, PgStatement b, string what)
    {
        bool same = a.Kind == b.Kind && a.Kinds == b.Kinds && a.NormalizedText == b.NormalizedText && a.NoWhere == b.NoWhere
            && a.DataModifyingCte == b.DataModifyingCte && a.CopiesData == b.CopiesData && a.OpaqueCode == b.OpaqueCode
            && a.Explain == b.Explain && a.Relations.SequenceEqual(b.Relations) && a.Functions.SequenceEqual(b.Functions)
            && a.PreparedName == b.PreparedName && a.ExecuteName == b.ExecuteName && a.CursorName == b.CursorName;
        Require(same, $"{what}: {a} / {b}");
    }

    private static void Require(bool condition, string invariant)
    {
        if (!condition)
        {
            throw new FuzzInvariantException(invariant);
        }
    }
}
