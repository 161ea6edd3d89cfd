using System.Text;
using Wire.Postgres.Sql;
using TK = Wire.Postgres.Sql.PgSqlTokenKind;

namespace Wire.Postgres.Tests.Sql;

public sealed class PgSqlLexerTests
{
    private static List<(TK Kind, string Text, PgSqlTokenFlags Flags)> Lex(string sql, bool standardConformingStrings = true)
        => Lex(Encoding.UTF8.GetBytes(sql), standardConformingStrings);

    private static List<(TK Kind, string Text, PgSqlTokenFlags Flags)> Lex(byte[] sql, bool standardConformingStrings = true)
    {
        var tokens = new List<(TK, string, PgSqlTokenFlags)>();
        var lexer = new PgSqlLexer(sql, standardConformingStrings);
        while (lexer.Next(out PgSqlToken token))
        {
            tokens.Add((token.Kind, Encoding.UTF8.GetString(sql, token.Start, token.Length), token.Flags));
        }

        return tokens;
    }

    private static (TK Kind, string Text) Single(string sql, bool standardConformingStrings = true)
    {
        var token = Assert.Single(Lex(sql, standardConformingStrings));
        return (token.Kind, token.Text);
    }

    [Theory]
    [InlineData("'abc'")]
    [InlineData("'it''s'")]
    [InlineData("''")]
    [InlineData("E'a\\'b'")]
    [InlineData("e'\\\\'")]
    [InlineData("E'tab\\there''s'")]
    [InlineData("U&'d\\0061t\\+000061'")]
    [InlineData("u&'\\\\'")]
    [InlineData("B'0101'")]
    [InlineData("b''")]
    [InlineData("X'1F'")]
    [InlineData("N'abc'")]
    [InlineData("n'it''s'")]
    [InlineData("$$a 'b' \"c\" -- d /* e$$")]
    [InlineData("$tag$a $ $b$ $$ $tag$")]
    [InlineData("$_1$x$_1$")]
    [InlineData("$é$x$é$")]
    public void Every_literal_form_is_one_string_token(string literal)
    {
        Assert.Equal((TK.String, literal), Single(literal));
    }

    [Theory]
    [InlineData("\"a\"\"b\"")]
    [InlineData("\"SELECT; DROP\"")]
    [InlineData("U&\"d\\0061t\"")]
    [InlineData("u&\"x\"")]
    public void Quoted_identifiers_are_one_token(string identifier)
    {
        Assert.Equal((TK.QuotedIdentifier, identifier), Single(identifier));
    }

    [Fact]
    public void Uescape_is_lexed_as_the_server_lexes_it_a_word_and_a_string()
    {
        Assert.Equal([TK.String, TK.Word, TK.String], Lex("U&'d!0061t' UESCAPE '!'").Select(t => t.Kind));
        Assert.Equal([TK.QuotedIdentifier, TK.Word, TK.String], Lex("U&\"d!0061t\" UESCAPE '!'").Select(t => t.Kind));
    }

    [Fact]
    public void Prefixes_count_only_where_a_token_starts()
    {
        Assert.Equal([(TK.Word, "aE"), (TK.String, "'x'")], Lex("aE'x'").Select(t => (t.Kind, t.Text)));
        Assert.Equal([(TK.Word, "U"), (TK.Operator, "&"), (TK.Word, "x")], Lex("U&x").Select(t => (t.Kind, t.Text)));
        Assert.Equal([(TK.Number, "1"), (TK.String, "e'x'")], Lex("1e'x'").Select(t => (t.Kind, t.Text)));
        Assert.Equal([(TK.Number, "0"), (TK.String, "x'1F'")], Lex("0x'1F'").Select(t => (t.Kind, t.Text)));
    }

    [Fact]
    public void Bit_strings_do_not_double_quotes()
    {
        // B'0''1' is B'0' followed by a new constant '1'; the second one obeys standard_conforming_strings.
        Assert.Equal([(TK.String, "B'0'"), (TK.String, "'1'")], Lex("B'0''1'").Select(t => (t.Kind, t.Text)));
    }

    [Fact]
    public void Comments_are_skipped_and_block_comments_nest()
    {
        Assert.Equal(["SELECT", "1"], Lex("/* a /* b */ still comment */ SELECT 1 -- trailing").Select(t => t.Text));
        Assert.Equal(["a", "b"], Lex("a--x\rb").Select(t => t.Text));
        Assert.Equal(["a", "b"], Lex("a/**/b").Select(t => t.Text));
        Assert.Equal(["a"], Lex("a /* /* */").Select(t => t.Text));
        Assert.Empty(Lex("-- only a comment"));
    }

    [Fact]
    public void An_operator_stops_where_a_comment_starts()
    {
        Assert.Equal([(TK.Word, "a"), (TK.Operator, "+"), (TK.Word, "b")], Lex("a +-- c\nb").Select(t => (t.Kind, t.Text)));
        Assert.Equal([(TK.Word, "a"), (TK.Operator, "*"), (TK.Word, "b")], Lex("a */* c */b").Select(t => (t.Kind, t.Text)));
        Assert.Equal([TK.Word, TK.Operator, TK.Word], Lex("a <> b").Select(t => t.Kind));
        Assert.Equal([TK.Word, TK.TypeCast, TK.Word], Lex("a::int").Select(t => t.Kind));
        Assert.Equal([(TK.Word, "a"), (TK.Operator, ":="), (TK.Number, "1")], Lex("a := 1").Select(t => (t.Kind, t.Text)));
    }

    [Fact]
    public void Punctuation_has_its_own_kinds()
    {
        Assert.Equal(
            [TK.OpenParen, TK.CloseParen, TK.Comma, TK.Semicolon, TK.Dot, TK.OpenBracket, TK.CloseBracket, TK.TypeCast, TK.Other],
            Lex("( ) , ; . [ ] :: {").Select(t => t.Kind));
    }

    [Theory]
    [InlineData("1", "Number")]
    [InlineData("1.5e-3", "Number")]
    [InlineData(".5", "Number")]
    [InlineData("1.", "Number")]
    [InlineData("0x1F", "Number")]
    [InlineData("1_000", "Number")]
    [InlineData("$1", "Parameter")]
    [InlineData("$12", "Parameter")]
    [InlineData("a$b", "Word")]
    [InlineData("a$$b$$", "Word")]
    [InlineData("_x1", "Word")]
    [InlineData("çà", "Word")]
    public void Numbers_parameters_and_words(string text, string kind)
    {
        Assert.Equal((Enum.Parse<TK>(kind), text), Single(text));
    }

    [Fact]
    public void Double_dot_is_not_a_fraction()
    {
        Assert.Equal([(TK.Number, "1"), (TK.Dot, "."), (TK.Number, ".2")], Lex("1..2").Select(t => (t.Kind, t.Text)));
    }

    [Fact]
    public void Dollar_quotes_need_the_same_tag_and_a_failed_tag_is_a_lone_dollar()
    {
        Assert.Equal((TK.String, "$a$ x $b$ y $a$"), Single("$a$ x $b$ y $a$"));

        // Tags are case-sensitive: $A$ does not close $a$.
        var unterminated = Assert.Single(Lex("$a$ x $A$"));
        Assert.Equal(PgSqlTokenFlags.Unterminated, unterminated.Flags);

        // "$abc" with no closing $ is the character $ followed by a word, as in the server.
        Assert.Equal([(TK.Other, "$"), (TK.Word, "abc")], Lex("$abc").Select(t => (t.Kind, t.Text)));
        Assert.Equal([(TK.Other, "$"), (TK.Operator, "+")], Lex("$+").Select(t => (t.Kind, t.Text)));
        Assert.Equal([(TK.Word, "a$"), (TK.Parameter, "$1")], Lex("a$ $1").Select(t => (t.Kind, t.Text)));
    }

    [Fact]
    public void Backslash_escapes_a_plain_string_only_without_standard_conforming_strings()
    {
        const string sql = "SELECT 'x\\''; DROP TABLE t; --'";

        // On: the backslash is a character, '' is a quote, so the whole rest is one constant.
        var on = Lex(sql, standardConformingStrings: true);
        Assert.Equal([TK.Word, TK.String], on.Select(t => t.Kind));
        Assert.True(on[1].Flags.HasFlag(PgSqlTokenFlags.PlainBackslash));

        // Off: \' is a quote, the constant ends, and a DROP follows.
        var off = Lex(sql, standardConformingStrings: false);
        Assert.Equal(["SELECT", "'x\\''", ";", "DROP", "TABLE", "t", ";"], off.Select(t => t.Text));
        Assert.True(off[1].Flags.HasFlag(PgSqlTokenFlags.PlainBackslash));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Escape_strings_always_escape(bool standardConformingStrings)
    {
        var tokens = Lex("SELECT E'\\''; DROP TABLE t; --'", standardConformingStrings);
        Assert.Equal(["SELECT", "E'\\''", ";", "DROP", "TABLE", "t", ";"], tokens.Select(t => t.Text));
        Assert.Equal(PgSqlTokenFlags.None, tokens[1].Flags);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Unicode_strings_never_escape_quotes(bool standardConformingStrings)
    {
        Assert.Equal(["U&'\\'", ";", "x"], Lex("U&'\\'; x", standardConformingStrings).Select(t => t.Text));
    }

    [Fact]
    public void National_strings_follow_the_plain_rules()
    {
        Assert.Equal(["N'\\'", ";"], Lex("N'\\';", standardConformingStrings: true).Select(t => t.Text));
        Assert.Equal(["N'\\';"], Lex("N'\\';", standardConformingStrings: false).Select(t => t.Text));
    }

    [Theory]
    [InlineData("'a'\n'b'")]
    [InlineData("'a' \r\n\t 'b'")]
    [InlineData("'a' -- comment\n 'b'")]
    [InlineData("'a'\n-- comment\n'b'")]
    [InlineData("E'a'\n'b'")]
    [InlineData("B'01'\n'10'")]
    public void Constants_separated_by_a_newline_continue(string sql)
    {
        var token = Assert.Single(Lex(sql));
        Assert.Equal(TK.String, token.Kind);
        Assert.Equal(PgSqlTokenFlags.Continued, token.Flags);
    }

    [Theory]
    [InlineData("'a' 'b'")]
    [InlineData("'a' /* c */\n'b'")]
    [InlineData("'a'\n/* c */'b'")]
    [InlineData("$$a$$\n'b'")]
    public void Constants_without_a_newline_or_with_a_block_comment_do_not_continue(string sql)
    {
        Assert.Equal([TK.String, TK.String], Lex(sql).Select(t => t.Kind));
    }

    [Fact]
    public void A_continued_escape_string_keeps_escaping()
    {
        // The second piece of E'...' is read with backslash escapes, so \' does not end it.
        Assert.Equal(["E'a'\n'\\';x'"], Lex("E'a'\n'\\';x'").Select(t => t.Text));
    }

    [Theory]
    [InlineData("'abc", "String")]
    [InlineData("'abc''", "String")]
    [InlineData("E'abc\\", "String")]
    [InlineData("E'abc\\'", "String")]
    [InlineData("U&'abc", "String")]
    [InlineData("B'01", "String")]
    [InlineData("\"abc", "QuotedIdentifier")]
    [InlineData("\"abc\"\"", "QuotedIdentifier")]
    [InlineData("$$abc", "String")]
    [InlineData("$t$abc$t", "String")]
    [InlineData("'a'\n'", "String")]
    public void Unterminated_constructs_run_to_the_end(string sql, string kind)
    {
        var token = Assert.Single(Lex("x " + sql).Skip(1));
        Assert.Equal(Enum.Parse<TK>(kind), token.Kind);
        Assert.Equal(sql, token.Text);
        Assert.True(token.Flags.HasFlag(PgSqlTokenFlags.Unterminated));
    }

    [Fact]
    public void An_unterminated_comment_swallows_the_rest()
    {
        Assert.Equal(["SELECT"], Lex("SELECT /* ; DROP TABLE t").Select(t => t.Text));
    }

    [Fact]
    public void Invalid_utf8_and_nul_bytes_lex_without_error()
    {
        byte[] sql = [.. "SELECT "u8, 0xFF, 0xFE, (byte)' ', 0, (byte)' ', 0xC0, (byte)'\'', 0x80, (byte)'\'', (byte)';'];
        var tokens = Lex(sql);
        Assert.Equal([TK.Word, TK.Word, TK.Other, TK.Word, TK.String, TK.Semicolon], tokens.Select(t => t.Kind));
    }

    [Fact]
    public void Random_bytes_lex_to_ordered_tokens_inside_the_input()
    {
        var random = new Random(1234);
        for (int round = 0; round < 2000; round++)
        {
            byte[] sql = new byte[random.Next(0, 64)];
            random.NextBytes(sql);
            if (round % 2 == 0)
            {
                // Bias towards the bytes that matter.
                const string alphabet = "'\"$\\-/*;()Ee&Uu \n1a.:";
                for (int i = 0; i < sql.Length; i++)
                {
                    sql[i] = (byte)alphabet[sql[i] % alphabet.Length];
                }
            }

            foreach (bool mode in new[] { true, false })
            {
                var lexer = new PgSqlLexer(sql, mode);
                int end = 0;
                int count = 0;
                while (lexer.Next(out PgSqlToken token))
                {
                    Assert.True(token.Start >= end && token.Length > 0 && token.End <= sql.Length);
                    end = token.End;
                    Assert.True(++count <= sql.Length);
                }
            }
        }
    }
}
