using System.Collections.ObjectModel;

namespace Wire.Postgres.Sql;

/// <summary>
/// Splits SQL text into statements where PostgreSQL does and classifies each (<see cref="PgStatement"/>). Never throws on
/// any input. For repeated texts use <see cref="PgClassificationCache"/>.
/// </summary>
internal static class PgSqlClassifier
{
    /// <summary>Classifies <paramref name="sql"/>, lexed with the session's <c>standard_conforming_strings</c>.</summary>
    public static PgSqlScript Classify(ReadOnlySpan<byte> sql, bool standardConformingStrings)
    {
        using var buffer = new PgSqlTokenBuffer(sql, standardConformingStrings);
        ReadOnlySpan<PgSqlToken> tokens = buffer.Tokens;
        ReadOnlySpan<PgKeyword> keywords = buffer.Keywords;
        List<PgStatement>? statements = null;
        int start = 0;
        while (start < tokens.Length)
        {
            int end = StatementEnd(tokens, keywords, start);
            if (end > start)
            {
                (statements ??= []).Add(PgStatementAnalyzer.Analyze(sql, tokens[start..end], keywords[start..end], allowPrepare: true));
            }

            start = end + 1;
        }

        IReadOnlyList<PgStatement> list = statements is null ? [] : new ReadOnlyCollection<PgStatement>(statements);
        return new PgSqlScript(list, buffer.HasPlainBackslash);
    }

    /// <summary>
    /// The index of the <c>;</c> that ends the statement starting at <paramref name="start"/> (or the token count): the
    /// first one outside parentheses (rule action lists hold several statements in parentheses) and outside the
    /// <c>BEGIN ATOMIC ... END</c> body of a <c>CREATE [OR REPLACE] FUNCTION|PROCEDURE</c>.
    /// </summary>
    /// <remarks>
    /// Inside a body, CASE ... END nests. Where a word could be either a keyword or a column label (<c>SELECT 1 AS end</c>,
    /// <c>SELECT 1 case</c>), the choice that ends the body sooner wins: splitting too early only shows a policy extra
    /// statements, while splitting too late would hide one that the server runs.
    /// </remarks>
    internal static int StatementEnd(ReadOnlySpan<PgSqlToken> tokens, ReadOnlySpan<PgKeyword> keywords, int start)
    {
        bool routine = IsCreateRoutine(keywords, start);
        int depth = 0;
        int body = 0;
        for (int i = start; i < tokens.Length; i++)
        {
            switch (tokens[i].Kind)
            {
                case PgSqlTokenKind.OpenParen:
                    depth++;
                    break;
                case PgSqlTokenKind.CloseParen:
                    depth = Math.Max(0, depth - 1);
                    break;
                case PgSqlTokenKind.Semicolon when depth == 0 && body == 0:
                    return i;
                case PgSqlTokenKind.Word when routine && depth == 0:
                    body = BodyDepth(tokens, keywords, i, body);
                    break;
            }
        }

        return tokens.Length;
    }

    private static bool IsCreateRoutine(ReadOnlySpan<PgKeyword> keywords, int start)
    {
        if (keywords[start] != PgKeyword.Create)
        {
            return false;
        }

        int i = start + 1;
        if (At(keywords, i) == PgKeyword.Or && At(keywords, i + 1) == PgKeyword.Replace)
        {
            i += 2;
        }

        return At(keywords, i) is PgKeyword.Function or PgKeyword.Procedure;
    }

    /// <summary>The BEGIN ATOMIC nesting after the word at <paramref name="i"/>.</summary>
    private static int BodyDepth(ReadOnlySpan<PgSqlToken> tokens, ReadOnlySpan<PgKeyword> keywords, int i, int body)
    {
        PgKeyword keyword = keywords[i];
        if (body == 0)
        {
            return keyword == PgKeyword.Begin && At(keywords, i + 1) == PgKeyword.Atomic ? 1 : 0;
        }

        // After AS or a dot the word is a label (SELECT 1 AS end, t.case), never CASE or END.
        PgSqlTokenKind previous = tokens[i - 1].Kind;
        if (previous == PgSqlTokenKind.Dot || keywords[i - 1] == PgKeyword.As)
        {
            return body;
        }

        if (keyword == PgKeyword.End)
        {
            return body - 1;
        }

        // CASE counts only when an expression follows it; a bare label "case" is followed by a comma, FROM, ;, ...
        return keyword == PgKeyword.Case && StartsCaseExpression(tokens, keywords, i + 1) ? body + 1 : body;
    }

    private static bool StartsCaseExpression(ReadOnlySpan<PgSqlToken> tokens, ReadOnlySpan<PgKeyword> keywords, int next)
    {
        if (next >= tokens.Length)
        {
            return false;
        }

        return tokens[next].Kind switch
        {
            PgSqlTokenKind.Comma or PgSqlTokenKind.Semicolon or PgSqlTokenKind.CloseParen or PgSqlTokenKind.CloseBracket
                or PgSqlTokenKind.Dot or PgSqlTokenKind.TypeCast => false,
            PgSqlTokenKind.Word => keywords[next] is not (PgKeyword.From or PgKeyword.Into or PgKeyword.Where or PgKeyword.Group
                or PgKeyword.Having or PgKeyword.Window or PgKeyword.Order or PgKeyword.Limit or PgKeyword.Offset
                or PgKeyword.Fetch or PgKeyword.For or PgKeyword.Union or PgKeyword.Intersect or PgKeyword.Except
                or PgKeyword.Returning or PgKeyword.End or PgKeyword.As or PgKeyword.Then or PgKeyword.Else),
            _ => true,
        };
    }

    private static PgKeyword At(ReadOnlySpan<PgKeyword> keywords, int i) => i < keywords.Length ? keywords[i] : PgKeyword.None;
}
