namespace Wire.Postgres.Sql;

/// <summary>What a <see cref="PgSqlToken"/> is, as PostgreSQL's scanner would see it (comments are never tokens).</summary>
internal enum PgSqlTokenKind : byte
{
    /// <summary>An unquoted word: a keyword or an identifier (the lexer does not tell them apart).</summary>
    Word,

    /// <summary>A double-quoted identifier, <c>"a""b"</c>, or its Unicode-escape form <c>U&amp;"..."</c>.</summary>
    QuotedIdentifier,

    /// <summary>
    /// A string constant in any spelling: <c>'...'</c>, <c>E'...'</c>, <c>U&amp;'...'</c>, <c>B'...'</c>, <c>X'...'</c>,
    /// <c>N'...'</c>, <c>$tag$...$tag$</c>; continued pieces (separated by whitespace holding a newline) are one token.
    /// </summary>
    String,

    /// <summary>A numeric constant.</summary>
    Number,

    /// <summary>A positional parameter, <c>$1</c>.</summary>
    Parameter,

    /// <summary>An operator: a run of operator characters, or <c>:</c> / <c>:=</c>.</summary>
    Operator,

    /// <summary><c>(</c></summary>
    OpenParen,

    /// <summary><c>)</c></summary>
    CloseParen,

    /// <summary><c>,</c></summary>
    Comma,

    /// <summary><c>;</c></summary>
    Semicolon,

    /// <summary><c>.</c></summary>
    Dot,

    /// <summary><c>[</c></summary>
    OpenBracket,

    /// <summary><c>]</c></summary>
    CloseBracket,

    /// <summary><c>::</c></summary>
    TypeCast,

    /// <summary>Any other single byte (a lone <c>$</c>, <c>{</c>, a control byte, NUL): the server's scanner returns it as is.</summary>
    Other,
}
