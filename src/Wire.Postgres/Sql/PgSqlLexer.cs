namespace Wire.Postgres.Sql;

/// <summary>
/// Splits UTF-8 SQL text into tokens the way PostgreSQL's scanner (src/backend/parser/scan.l) does, so that
/// string constants, quoted identifiers, dollar quotes and comments end exactly where the server ends them:
/// a <c>;</c> Wire sees outside a literal is one the server sees too. Comments are skipped. Zero allocation;
/// never throws; any byte sequence (invalid UTF-8, NUL) lexes, and an unterminated construct runs to the end.
/// </summary>
/// <remarks>
/// Lexical structure: https://www.postgresql.org/docs/current/sql-syntax-lexical.html. Bytes at or above 0x80
/// are identifier characters, as in the server, so any ASCII-safe client encoding lexes correctly.
/// </remarks>
internal ref struct PgSqlLexer
{
    private readonly ReadOnlySpan<byte> _sql;
    private readonly bool _standardConformingStrings;
    private int _position;

    /// <summary>Creates a lexer over <paramref name="sql"/>.</summary>
    /// <param name="sql">The SQL text, UTF-8 (or any encoding whose multi-byte characters hold no ASCII bytes).</param>
    /// <param name="standardConformingStrings">
    /// The session's <c>standard_conforming_strings</c>: when false, a plain <c>'...'</c> treats backslash as an escape.
    /// </param>
    public PgSqlLexer(ReadOnlySpan<byte> sql, bool standardConformingStrings)
    {
        _sql = sql;
        _standardConformingStrings = standardConformingStrings;
        _position = 0;
    }

    /// <summary>Offset of the next byte to read.</summary>
    public readonly int Position => _position;

    /// <summary>Reads the next token, skipping whitespace and comments.</summary>
    /// <param name="token">The token; default when the input is exhausted.</param>
    /// <returns>False at the end of the input.</returns>
    public bool Next(out PgSqlToken token)
    {
        SkipWhitespaceAndComments();
        ReadOnlySpan<byte> sql = _sql;
        int start = _position;
        if (start >= sql.Length)
        {
            token = default;
            return false;
        }

        byte b = sql[start];
        PgSqlTokenKind kind;
        PgSqlTokenFlags flags = PgSqlTokenFlags.None;
        int end;
        switch (b)
        {
            case (byte)'\'':
                end = ReadQuoted(start + 1, _standardConformingStrings ? QuoteMode.Standard : QuoteMode.Escape, plain: true, out flags);
                kind = PgSqlTokenKind.String;
                break;
            case (byte)'"':
                end = ReadQuotedIdentifier(start + 1, out flags);
                kind = PgSqlTokenKind.QuotedIdentifier;
                break;
            case (byte)'$':
                end = ReadDollar(start, out kind, out flags);
                break;
            case (byte)'(':
                (kind, end) = (PgSqlTokenKind.OpenParen, start + 1);
                break;
            case (byte)')':
                (kind, end) = (PgSqlTokenKind.CloseParen, start + 1);
                break;
            case (byte)',':
                (kind, end) = (PgSqlTokenKind.Comma, start + 1);
                break;
            case (byte)';':
                (kind, end) = (PgSqlTokenKind.Semicolon, start + 1);
                break;
            case (byte)'[':
                (kind, end) = (PgSqlTokenKind.OpenBracket, start + 1);
                break;
            case (byte)']':
                (kind, end) = (PgSqlTokenKind.CloseBracket, start + 1);
                break;
            case (byte)':':
                // "::" is the cast; ":=" is one token in the grammar; a lone ':' serves array slices.
                (kind, end) = At(start + 1) == ':' ? (PgSqlTokenKind.TypeCast, start + 2)
                    : At(start + 1) == '=' ? (PgSqlTokenKind.Operator, start + 2)
                    : (PgSqlTokenKind.Operator, start + 1);
                break;
            case (byte)'.':
                (kind, end) = IsDigit(At(start + 1)) ? (PgSqlTokenKind.Number, ReadNumber(start)) : (PgSqlTokenKind.Dot, start + 1);
                break;
            default:
                if (IsDigit(b))
                {
                    (kind, end) = (PgSqlTokenKind.Number, ReadNumber(start));
                }
                else if (IsIdentifierStart(b))
                {
                    end = ReadWordOrPrefixedLiteral(start, out kind, out flags);
                }
                else if (IsOperatorChar(b))
                {
                    (kind, end) = (PgSqlTokenKind.Operator, ReadOperator(start));
                }
                else
                {
                    (kind, end) = (PgSqlTokenKind.Other, start + 1);
                }

                break;
        }

        _position = end;
        token = new PgSqlToken(kind, start, end - start, flags);
        return true;
    }

    /// <summary>Whitespace as the server's scanner defines it (vertical tab included since PostgreSQL 16).</summary>
    internal static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\f' or (byte)'\v';

    internal static bool IsDigit(int b) => (uint)(b - '0') <= 9;

    /// <summary>Letters, underscore and every byte of a multi-byte character.</summary>
    internal static bool IsIdentifierStart(int b) => (uint)((b | 0x20) - 'a') <= 'z' - 'a' || b == '_' || b >= 0x80;

    /// <summary>A <c>$</c> continues an identifier (<c>a$b</c>), which is why <c>a$$b</c> starts no dollar quote.</summary>
    internal static bool IsIdentifierPart(int b) => IsIdentifierStart(b) || IsDigit(b) || b == '$';

    internal static bool IsOperatorChar(int b)
        => b is '~' or '!' or '@' or '#' or '^' or '&' or '|' or '`' or '?' or '+' or '-' or '*' or '/' or '%' or '<' or '>' or '=';

    private readonly int At(int index) => (uint)index < (uint)_sql.Length ? _sql[index] : -1;

    private void SkipWhitespaceAndComments()
    {
        ReadOnlySpan<byte> sql = _sql;
        int i = _position;
        while (i < sql.Length)
        {
            byte b = sql[i];
            if (IsSpace(b))
            {
                i++;
            }
            else if (b == '-' && At(i + 1) == '-')
            {
                i = SkipLineComment(sql, i);
            }
            else if (b == '/' && At(i + 1) == '*')
            {
                i = SkipBlockComment(sql, i);
            }
            else
            {
                break;
            }
        }

        _position = i;
    }

    /// <summary>A <c>--</c> comment ends before the next CR or LF, or at the end of the input.</summary>
    private static int SkipLineComment(ReadOnlySpan<byte> sql, int i)
    {
        int newline = sql[(i + 2)..].IndexOfAny((byte)'\n', (byte)'\r');
        return newline < 0 ? sql.Length : i + 2 + newline;
    }

    /// <summary>Block comments nest (unlike the SQL standard's); an unterminated one swallows the rest.</summary>
    private static int SkipBlockComment(ReadOnlySpan<byte> sql, int i)
    {
        int depth = 1;
        i += 2;
        while (true)
        {
            int next = sql[i..].IndexOfAny((byte)'*', (byte)'/');
            if (next < 0)
            {
                return sql.Length;
            }

            i += next;
            if (i + 1 >= sql.Length)
            {
                return sql.Length;
            }

            if (sql[i] == '*' && sql[i + 1] == '/')
            {
                i += 2;
                if (--depth == 0)
                {
                    return i;
                }
            }
            else if (sql[i] == '/' && sql[i + 1] == '*')
            {
                depth++;
                i += 2;
            }
            else
            {
                i++;
            }
        }
    }

    /// <summary>
    /// An unquoted word, or one of the prefixed literals <c>E'</c> <c>B'</c> <c>X'</c> <c>N'</c> <c>U&amp;'</c> <c>U&amp;"</c>.
    /// </summary>
    /// <remarks>
    /// A prefix only counts where a token starts: in <c>aE'x'</c> the word <c>aE</c> is longer, as flex's longest match makes it.
    /// </remarks>
    private int ReadWordOrPrefixedLiteral(int start, out PgSqlTokenKind kind, out PgSqlTokenFlags flags)
    {
        int lower = _sql[start] | 0x20;
        flags = PgSqlTokenFlags.None;
        if (At(start + 1) == '\'')
        {
            switch (lower)
            {
                case 'e':
                    kind = PgSqlTokenKind.String;
                    return ReadQuoted(start + 2, QuoteMode.Escape, plain: false, out flags);
                case 'b':
                case 'x':
                    kind = PgSqlTokenKind.String;
                    return ReadQuoted(start + 2, QuoteMode.BitString, plain: false, out flags);
                case 'n':
                    // The server reads N'...' as NCHAR followed by an ordinary constant, so the ordinary rules apply.
                    kind = PgSqlTokenKind.String;
                    QuoteMode mode = _standardConformingStrings ? QuoteMode.Standard : QuoteMode.Escape;
                    return ReadQuoted(start + 2, mode, plain: true, out flags);
            }
        }
        else if (lower == 'u' && At(start + 1) == '&')
        {
            if (At(start + 2) == '\'')
            {
                // Backslash starts a Unicode escape here, never a quote escape, whatever standard_conforming_strings says.
                kind = PgSqlTokenKind.String;
                return ReadQuoted(start + 3, QuoteMode.Standard, plain: false, out flags);
            }

            if (At(start + 2) == '"')
            {
                kind = PgSqlTokenKind.QuotedIdentifier;
                return ReadQuotedIdentifier(start + 3, out flags);
            }
        }

        int i = start + 1;
        ReadOnlySpan<byte> sql = _sql;
        while (i < sql.Length && IsIdentifierPart(sql[i]))
        {
            i++;
        }

        kind = PgSqlTokenKind.Word;
        return i;
    }

    /// <summary>
    /// The body of a single-quoted constant from <paramref name="i"/> (just past the opening quote) to just past
    /// the closing quote, following continuation pieces.
    /// </summary>
    private readonly int ReadQuoted(int i, QuoteMode mode, bool plain, out PgSqlTokenFlags flags)
    {
        ReadOnlySpan<byte> sql = _sql;
        flags = PgSqlTokenFlags.None;
        bool backslashEscapes = mode == QuoteMode.Escape;
        bool watchBackslash = backslashEscapes || plain;
        while (true)
        {
            int next = watchBackslash ? sql[i..].IndexOfAny((byte)'\'', (byte)'\\') : sql[i..].IndexOf((byte)'\'');
            if (next < 0)
            {
                flags |= PgSqlTokenFlags.Unterminated;
                return sql.Length;
            }

            i += next;
            if (sql[i] == '\\')
            {
                if (plain)
                {
                    flags |= PgSqlTokenFlags.PlainBackslash;
                }

                // An escaping backslash takes the next byte whatever it is (a quote included); a standard one is plain text.
                i += backslashEscapes ? 2 : 1;
                if (i >= sql.Length)
                {
                    flags |= PgSqlTokenFlags.Unterminated;
                    return sql.Length;
                }

                continue;
            }

            // Doubled quotes are a quote in every form but bit strings, where the second quote starts a new constant.
            if (mode != QuoteMode.BitString && At(i + 1) == '\'')
            {
                i += 2;
                continue;
            }

            i++;
            int resumed = ContinuationAfter(sql, i);
            if (resumed < 0)
            {
                return i;
            }

            flags |= PgSqlTokenFlags.Continued;
            i = resumed;
        }
    }

    /// <summary>
    /// When the text after a closing quote is whitespace holding a newline (and <c>--</c> comments, but not block
    /// comments) followed by another quote, SQL joins the two constants: returns the offset just past that quote, else -1.
    /// </summary>
    private static int ContinuationAfter(ReadOnlySpan<byte> sql, int i)
    {
        bool newline = false;
        while (i < sql.Length)
        {
            byte b = sql[i];
            if (b is (byte)'\n' or (byte)'\r')
            {
                newline = true;
                i++;
            }
            else if (IsSpace(b))
            {
                i++;
            }
            else if (b == '-' && i + 1 < sql.Length && sql[i + 1] == '-')
            {
                i = SkipLineComment(sql, i);
            }
            else
            {
                return newline && b == '\'' ? i + 1 : -1;
            }
        }

        return -1;
    }

    /// <summary>From just past the opening double quote to just past the closing one; <c>""</c> is an escaped quote.</summary>
    private readonly int ReadQuotedIdentifier(int i, out PgSqlTokenFlags flags)
    {
        ReadOnlySpan<byte> sql = _sql;
        flags = PgSqlTokenFlags.None;
        while (true)
        {
            int next = sql[i..].IndexOf((byte)'"');
            if (next < 0)
            {
                flags = PgSqlTokenFlags.Unterminated;
                return sql.Length;
            }

            i += next + 1;
            if (At(i) != '"')
            {
                return i;
            }

            i++;
        }
    }

    /// <summary>
    /// At a <c>$</c>: a parameter (<c>$1</c>), a dollar quote (<c>$$</c>, <c>$tag$</c>), or a lone <c>$</c> when the
    /// would-be tag is not closed by a second <c>$</c> (the server then rescans what follows the <c>$</c>).
    /// </summary>
    private readonly int ReadDollar(int start, out PgSqlTokenKind kind, out PgSqlTokenFlags flags)
    {
        ReadOnlySpan<byte> sql = _sql;
        flags = PgSqlTokenFlags.None;
        int i = start + 1;
        if (IsDigit(At(i)))
        {
            while (IsDigit(At(i)) || (At(i) == '_' && IsDigit(At(i + 1))))
            {
                i++;
            }

            kind = PgSqlTokenKind.Parameter;
            return i;
        }

        if (At(i) != '$')
        {
            if (!IsIdentifierStart(At(i)))
            {
                kind = PgSqlTokenKind.Other;
                return i;
            }

            // A tag is identifier-like but may not hold '$' (nor start with a digit).
            while (i < sql.Length && (IsIdentifierStart(sql[i]) || IsDigit(sql[i])))
            {
                i++;
            }

            if (At(i) != '$')
            {
                kind = PgSqlTokenKind.Other;
                return start + 1;
            }
        }

        int bodyStart = i + 1;
        ReadOnlySpan<byte> delimiter = sql[start..bodyStart];
        kind = PgSqlTokenKind.String;

        // The body ends at the first occurrence of the very same delimiter; nothing inside is special.
        int close = sql[bodyStart..].IndexOf(delimiter);
        if (close < 0)
        {
            flags = PgSqlTokenFlags.Unterminated;
            return sql.Length;
        }

        return bodyStart + close + delimiter.Length;
    }

    /// <summary>
    /// Digits with <c>_</c> separators, a fraction, an exponent, or a 0x/0o/0b integer. Stops short of a second
    /// <c>.</c> (<c>1..2</c>) and of an exponent marker with no digits, so <c>1e'x'</c> leaves <c>e'x'</c> to be read.
    /// </summary>
    private readonly int ReadNumber(int start)
    {
        int i = start;
        int second = At(start + 1) | 0x20;
        if (_sql[start] == '0' && (second is 'x' or 'o' or 'b'))
        {
            int digit = At(start + 2);
            if (IsDigit(digit) || (uint)((digit | 0x20) - 'a') <= 'f' - 'a' || digit == '_')
            {
                i = start + 2;
                while (IsDigit(At(i)) || (uint)((At(i) | 0x20) - 'a') <= 'z' - 'a' || At(i) == '_')
                {
                    i++;
                }

                return i;
            }
        }

        i = SkipDigits(i);
        if (At(i) == '.' && At(i + 1) != '.')
        {
            i = SkipDigits(i + 1);
        }

        if ((At(i) | 0x20) == 'e')
        {
            int exponent = At(i + 1) is '+' or '-' ? i + 2 : i + 1;
            if (IsDigit(At(exponent)))
            {
                i = SkipDigits(exponent);
            }
        }

        return i;
    }

    private readonly int SkipDigits(int i)
    {
        while (IsDigit(At(i)) || (At(i) == '_' && IsDigit(At(i + 1))))
        {
            i++;
        }

        return i;
    }

    /// <summary>A run of operator characters that stops where a comment starts (<c>+--x</c> is <c>+</c> and a comment).</summary>
    private readonly int ReadOperator(int start)
    {
        int i = start + 1;
        while (IsOperatorChar(At(i)))
        {
            int b = At(i);
            if ((b == '-' && At(i + 1) == '-') || (b == '/' && At(i + 1) == '*'))
            {
                break;
            }

            i++;
        }

        return i;
    }

    /// <summary>How the body of a single-quoted constant is read.</summary>
    private enum QuoteMode : byte
    {
        /// <summary>Backslash is an ordinary character; <c>''</c> is a quote.</summary>
        Standard,

        /// <summary>Backslash escapes the next byte; <c>''</c> is a quote.</summary>
        Escape,

        /// <summary>B'...' and X'...': no escapes at all.</summary>
        BitString,
    }
}
