using Wire.Enforcement.Policy;

namespace Wire.Postgres.Sql;

/// <summary>
/// Classifies the tokens of one statement. The statement's head (its first words) decides the kind and reads the
/// names that only the head can place (<c>DROP TABLE a, b</c>, <c>COPY t TO</c>, <c>GRANT ... ON t</c>); a walker then
/// reads the rest clause by clause, with an explicit stack of parenthesis frames (never recursion, so nesting depth
/// costs no stack), to find relations, function calls, nested data-modifying statements and WHERE clauses.
/// </summary>
/// <remarks>
/// This is a reader of SQL's shape, not a parser: on malformed SQL it still answers, never throws, and leans towards
/// reporting more (the server rejects such SQL whole, so nothing it names runs). Split into partial files by concern:
/// heads (<c>.Heads.cs</c>) and the walker (<c>.Walker.cs</c>).
/// </remarks>
internal ref partial struct PgStatementAnalyzer
{
    /// <summary>Returned by <see cref="T"/> past the last token.</summary>
    private const PgSqlTokenKind NoToken = (PgSqlTokenKind)255;

    private readonly ReadOnlySpan<byte> _sql;
    private readonly ReadOnlySpan<PgSqlToken> _tokens;
    private readonly ReadOnlySpan<PgKeyword> _keywords;
    private readonly bool _allowPrepare;

    private StatementKind? _mainVerb;
    private StatementKindSet _kinds;
    private bool _noWhere;
    private bool _dataModifyingCte;
    private bool _copiesData;
    private bool _opaqueCode;
    private PgNameList? _relations;
    private PgNameList? _functions;
    private string? _preparedName;
    private PgStatement? _prepared;
    private string? _executeName;
    private string? _cursorName;

    // The walker's state (see PgStatementAnalyzer.Walker.cs); all instance fields of a partial struct live in one part.
    private Frame[] _frames;
    private int _depth;
    private List<(string Name, int Depth)>? _ctes;

    /// <summary>The token index whose <c>(</c> opens a frame of kind <see cref="_nextParen"/> (a call, a column list).</summary>
    private int _nextParenIndex;
    private FrameKind _nextParen;

    /// <summary>Set by CREATE RULE: DO [ALSO|INSTEAD] introduces the rule's action statements.</summary>
    private bool _ruleActions;

    private PgStatementAnalyzer(
        ReadOnlySpan<byte> sql, ReadOnlySpan<PgSqlToken> tokens, ReadOnlySpan<PgKeyword> keywords, bool allowPrepare)
    {
        _sql = sql;
        _tokens = tokens;
        _keywords = keywords;
        _allowPrepare = allowPrepare;
        _frames = [];
    }

    /// <summary>Classifies one statement.</summary>
    /// <param name="sql">The whole text the tokens index into.</param>
    /// <param name="tokens">The statement's tokens, without the terminating <c>;</c>; at least one.</param>
    /// <param name="keywords">The keyword of each token (<see cref="PgKeyword.None"/> for non-words).</param>
    /// <param name="allowPrepare">False for the body of a PREPARE, which may not be another PREPARE.</param>
    public static PgStatement Analyze(
        ReadOnlySpan<byte> sql, ReadOnlySpan<PgSqlToken> tokens, ReadOnlySpan<PgKeyword> keywords, bool allowPrepare)
    {
        var analyzer = new PgStatementAnalyzer(sql, tokens, keywords, allowPrepare);
        try
        {
            return analyzer.Run();
        }
        finally
        {
            if (analyzer._frames.Length > 0)
            {
                // Frames hold no references, so the pool needs no clearing.
                System.Buffers.ArrayPool<Frame>.Shared.Return(analyzer._frames);
            }
        }
    }

    private PgStatement Run()
    {
        // EXPLAIN [ANALYZE] [VERBOSE] / EXPLAIN (options): peeled in a loop, so nesting costs nothing.
        int i = 0;
        bool explain = false;
        bool analyze = false;
        while (K(i) == PgKeyword.Explain)
        {
            explain = true;
            i = SkipExplainOptions(i + 1, ref analyze);
        }

        StatementKind kind = i < _tokens.Length ? AnalyzeHead(i) : StatementKind.Other;
        bool runs = !explain || analyze;
        bool prepare = kind == StatementKind.Prepare && !explain;
        IReadOnlyList<string> functions = PgNameList.Freeze(_functions);
        return new PgStatement
        {
            Start = _tokens[0].Start,
            Length = _tokens[^1].End - _tokens[0].Start,
            NormalizedText = PgSqlText.Normalize(_sql, _tokens),
            Kind = runs ? kind : StatementKind.Other,
            Kinds = runs ? _kinds.With(kind) : StatementKindSet.Of(StatementKind.Other),
            NoWhere = runs && !prepare && _noWhere,
            DataModifyingCte = runs && !prepare && _dataModifyingCte,
            CopiesData = runs && !prepare && _copiesData,

            // Even a plain EXPLAIN plans the statement, and planning folds immutable functions by calling them.
            OpaqueCode = !prepare && (_opaqueCode || functions.Count > 0),
            Explain = explain,
            Relations = PgNameList.Freeze(_relations),
            Functions = functions,
            PreparedName = _preparedName,
            Prepared = _prepared,
            ExecuteName = _executeName,
            CursorName = _cursorName,
        };
    }

    /// <summary>
    /// After EXPLAIN: the legacy <c>ANALYZE</c>/<c>VERBOSE</c> words or a parenthesised option list. ANALYZE is on unless its
    /// value is false, off or 0 (the values the server reads as false; anything else is true or an error).
    /// </summary>
    private readonly int SkipExplainOptions(int i, ref bool analyze)
    {
        if (T(i) == PgSqlTokenKind.OpenParen)
        {
            int close = MatchingParen(i);
            analyze |= OptionIsOn(i, close, PgKeyword.Analyze, PgKeyword.Analyse);
            return close + 1;
        }

        while (K(i) is PgKeyword.Analyze or PgKeyword.Analyse or PgKeyword.Verbose)
        {
            analyze |= K(i) != PgKeyword.Verbose;
            i++;
        }

        return i;
    }

    /// <summary>
    /// Whether the option list between <paramref name="open"/> and <paramref name="close"/> turns an option on (last one wins).
    /// </summary>
    private readonly bool OptionIsOn(int open, int close, PgKeyword option, PgKeyword alternative)
    {
        bool on = false;
        int itemStart = open + 1;
        for (int i = open + 1; i <= close && i < _tokens.Length; i++)
        {
            if (i < close && T(i) != PgSqlTokenKind.Comma)
            {
                continue;
            }

            if (IsOption(itemStart, option) || IsOption(itemStart, alternative))
            {
                on = itemStart + 1 >= i || !IsFalseValue(itemStart + 1);
            }

            itemStart = i + 1;
        }

        return on;
    }

    /// <summary>
    /// Whether the option name at <paramref name="i"/> is <paramref name="option"/>: an unquoted word in any case, or a
    /// quoted identifier spelled exactly in lower case (the server compares option names after folding, so
    /// <c>("analyze")</c> is ANALYZE too).
    /// </summary>
    private readonly bool IsOption(int i, PgKeyword option)
    {
        if (K(i) == option)
        {
            return true;
        }

        if (T(i) != PgSqlTokenKind.QuotedIdentifier)
        {
            return false;
        }

        // Only EXPLAIN and VACUUM options get here, so building the name as a string costs nothing that matters.
        string name = NameText(i, i);
        ReadOnlySpan<byte> spelling = PgKeywords.Spelling(option);
        if (name.Length != spelling.Length)
        {
            return false;
        }

        for (int c = 0; c < name.Length; c++)
        {
            if (name[c] != spelling[c])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Whether an option value reads as false: 0, or false/off as a word, a quoted identifier or a string, in any case
    /// (the server's defGetBoolean); anything else is true or an error.
    /// </summary>
    private readonly bool IsFalseValue(int i)
    {
        PgSqlToken token = _tokens[i];
        ReadOnlySpan<byte> text = _sql.Slice(token.Start, token.Length);
        switch (token.Kind)
        {
            case PgSqlTokenKind.Word:
                return K(i) is PgKeyword.False or PgKeyword.Off;
            case PgSqlTokenKind.Number:
                return text.IndexOfAnyExcept((byte)'0') < 0;
            case PgSqlTokenKind.String:
            case PgSqlTokenKind.QuotedIdentifier:
                if (text.Length < 2 || text[0] != text[^1] || (token.Flags & PgSqlTokenFlags.Continued) != 0)
                {
                    return false;
                }

                ReadOnlySpan<byte> value = text[1..^1];
                return System.Text.Ascii.EqualsIgnoreCase(value, "false"u8) || System.Text.Ascii.EqualsIgnoreCase(value, "off"u8);
            default:
                return false;
        }
    }

    private readonly PgSqlTokenKind T(int i) => (uint)i < (uint)_tokens.Length ? _tokens[i].Kind : NoToken;

    private readonly PgKeyword K(int i) => (uint)i < (uint)_keywords.Length ? _keywords[i] : PgKeyword.None;

    private readonly bool IsName(int i) => T(i) is PgSqlTokenKind.Word or PgSqlTokenKind.QuotedIdentifier;

    /// <summary>The index of the <c>)</c> matching the <c>(</c> at <paramref name="open"/>, or the last token when unbalanced.</summary>
    private readonly int MatchingParen(int open)
    {
        int depth = 0;
        for (int i = open; i < _tokens.Length; i++)
        {
            PgSqlTokenKind kind = _tokens[i].Kind;
            if (kind == PgSqlTokenKind.OpenParen)
            {
                depth++;
            }
            else if (kind == PgSqlTokenKind.CloseParen && --depth == 0)
            {
                return i;
            }
        }

        return _tokens.Length - 1;
    }

    /// <summary>The first <paramref name="keyword"/> at parenthesis depth 0 from <paramref name="from"/>, or -1.</summary>
    private readonly int FindTopLevel(int from, PgKeyword keyword)
    {
        int depth = 0;
        for (int i = from; i < _tokens.Length; i++)
        {
            PgSqlTokenKind kind = _tokens[i].Kind;
            if (kind == PgSqlTokenKind.OpenParen)
            {
                depth++;
            }
            else if (kind == PgSqlTokenKind.CloseParen)
            {
                depth = Math.Max(0, depth - 1);
            }
            else if (depth == 0 && _keywords[i] == keyword)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// The last token of the possibly qualified name starting at <paramref name="i"/> (<c>a.b."C"</c>), including a
    /// <c>UESCAPE 'c'</c> after a <c>U&amp;"..."</c> part.
    /// </summary>
    private readonly int NameEnd(int i)
    {
        while (true)
        {
            if (T(i) == PgSqlTokenKind.QuotedIdentifier && PgSqlText.IsUnicodeQuoted(_sql, _tokens[i])
                && K(i + 1) == PgKeyword.Uescape && T(i + 2) == PgSqlTokenKind.String)
            {
                i += 2;
            }

            if (T(i + 1) == PgSqlTokenKind.Dot && IsName(i + 2))
            {
                i += 2;
                continue;
            }

            return i;
        }
    }

    private readonly string NameText(int first, int last) => PgSqlText.Name(_sql, _tokens, first, last);

    // An empty name comes only from a zero-length quoted identifier (""), which the server rejects with the whole text.
    private void AddRelation(int first, int last) => AddName(ref _relations, NameText(first, last));

    private void AddFunction(int first, int last)
    {
        AddName(ref _functions, NameText(first, last));
        _opaqueCode = true;
    }

    private static void AddName(ref PgNameList? list, string name)
    {
        if (name.Length > 0)
        {
            (list ??= new PgNameList()).Add(name);
        }
    }

    /// <summary>
    /// Reads a relation name at <paramref name="i"/> (skipping ONLY) and returns its last token, or i - 1 when there is none.
    /// </summary>
    private int ReadRelation(int i)
    {
        if (K(i) == PgKeyword.Only)
        {
            i++;
        }

        if (!IsName(i))
        {
            return i - 1;
        }

        int last = NameEnd(i);
        AddRelation(i, last);
        return last;
    }

    /// <summary>
    /// Reads <c>name [*] [(columns)], name ...</c> from <paramref name="i"/> (each optionally after ONLY), as DROP, TRUNCATE,
    /// LOCK, GRANT ... ON and VACUUM list relations; returns the index after the list.
    /// </summary>
    private int ReadRelationList(int i, bool columnLists)
    {
        while (true)
        {
            int last = ReadRelation(i);
            if (last < i)
            {
                return i;
            }

            i = last + 1;
            if (T(i) == PgSqlTokenKind.Operator && _tokens[i].Length == 1 && _sql[_tokens[i].Start] == '*')
            {
                i++;
            }

            if (columnLists && T(i) == PgSqlTokenKind.OpenParen)
            {
                i = MatchingParen(i) + 1;
            }

            if (T(i) != PgSqlTokenKind.Comma)
            {
                return i;
            }

            i++;
        }
    }

    /// <summary>Skips <c>IF [NOT] EXISTS</c>.</summary>
    private readonly int SkipIfExists(int i)
    {
        if (K(i) != PgKeyword.If)
        {
            return i;
        }

        i++;
        if (K(i) == PgKeyword.Not)
        {
            i++;
        }

        return K(i) == PgKeyword.Exists ? i + 1 : i;
    }
}
