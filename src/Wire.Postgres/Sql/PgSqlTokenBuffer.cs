using System.Buffers;

namespace Wire.Postgres.Sql;

/// <summary>The tokens of one text and the keyword each spells, in pooled arrays that are returned on <see cref="Dispose"/>.</summary>
internal struct PgSqlTokenBuffer : IDisposable
{
    private PgSqlToken[] _tokens;
    private PgKeyword[] _keywords;
    private int _count;

    /// <summary>Lexes all of <paramref name="sql"/>.</summary>
    public PgSqlTokenBuffer(ReadOnlySpan<byte> sql, bool standardConformingStrings)
    {
        // A token is rarely shorter than 3 bytes on average; start small for big texts and grow by doubling.
        int capacity = Math.Clamp(sql.Length / 3, 16, 4096);
        _tokens = ArrayPool<PgSqlToken>.Shared.Rent(capacity);
        _keywords = ArrayPool<PgKeyword>.Shared.Rent(capacity);
        _count = 0;
        var lexer = new PgSqlLexer(sql, standardConformingStrings);
        while (lexer.Next(out PgSqlToken token))
        {
            if (_count == _tokens.Length)
            {
                Grow();
            }

            _tokens[_count] = token;
            _keywords[_count] = token.Kind == PgSqlTokenKind.Word
                ? PgKeywords.Lookup(sql.Slice(token.Start, token.Length))
                : PgKeyword.None;
            if ((token.Flags & PgSqlTokenFlags.PlainBackslash) != 0)
            {
                HasPlainBackslash = true;
            }

            _count++;
        }
    }

    /// <summary>Some plain string constant holds a backslash.</summary>
    public bool HasPlainBackslash { get; private set; }

    /// <summary>The tokens.</summary>
    public readonly ReadOnlySpan<PgSqlToken> Tokens => _tokens.AsSpan(0, _count);

    /// <summary>The keyword of each token (<see cref="PgKeyword.None"/> for everything but known words).</summary>
    public readonly ReadOnlySpan<PgKeyword> Keywords => _keywords.AsSpan(0, _count);

    /// <inheritdoc />
    public void Dispose()
    {
        if (_tokens is not null)
        {
            ArrayPool<PgSqlToken>.Shared.Return(_tokens);
            ArrayPool<PgKeyword>.Shared.Return(_keywords);
            _tokens = null!;
            _keywords = null!;
        }
    }

    private void Grow()
    {
        PgSqlToken[] tokens = ArrayPool<PgSqlToken>.Shared.Rent(_tokens.Length * 2);
        PgKeyword[] keywords = ArrayPool<PgKeyword>.Shared.Rent(_tokens.Length * 2);
        _tokens.AsSpan(0, _count).CopyTo(tokens);
        _keywords.AsSpan(0, _count).CopyTo(keywords);
        ArrayPool<PgSqlToken>.Shared.Return(_tokens);
        ArrayPool<PgKeyword>.Shared.Return(_keywords);
        _tokens = tokens;
        _keywords = keywords;
    }
}
