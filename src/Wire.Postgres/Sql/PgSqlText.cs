using System.Buffers;
using System.Text;

namespace Wire.Postgres.Sql;

/// <summary>Turns token ranges back into text: a statement's normalized form, and object names as the server resolves them.</summary>
internal static class PgSqlText
{
    /// <summary>NAMEDATALEN - 1: the server cuts longer identifiers to this many bytes.</summary>
    public const int MaxIdentifierBytes = 63;

    private const int StackLimit = 256;

    /// <summary>
    /// The tokens with every gap (whitespace or comments) turned into one space, unquoted words lower-cased (ASCII only,
    /// as the server folds them), everything else verbatim.
    /// </summary>
    public static string Normalize(ReadOnlySpan<byte> sql, ReadOnlySpan<PgSqlToken> tokens)
    {
        if (tokens.IsEmpty)
        {
            return string.Empty;
        }

        // Each gap of at least one byte becomes one space, so the output is never longer than the input range.
        int capacity = tokens[^1].End - tokens[0].Start;
        byte[]? rented = null;
        Span<byte> buffer = capacity <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(capacity));
        int written = 0;
        int previousEnd = tokens[0].Start;
        foreach (PgSqlToken token in tokens)
        {
            if (token.Start > previousEnd)
            {
                buffer[written++] = (byte)' ';
            }

            ReadOnlySpan<byte> text = sql.Slice(token.Start, token.Length);
            Span<byte> target = buffer.Slice(written, text.Length);
            if (token.Kind == PgSqlTokenKind.Word)
            {
                LowerAscii(text, target);
            }
            else
            {
                text.CopyTo(target);
            }

            written += text.Length;
            previousEnd = token.End;
        }

        string normalized = Encoding.UTF8.GetString(buffer[..written]);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        return normalized;
    }

    /// <summary>
    /// A possibly qualified name (<c>a . "B" . c</c>) from <paramref name="first"/> to <paramref name="last"/>: unquoted parts
    /// lower-cased, quoted parts without quotes (<c>""</c> unescaped, <c>U&amp;"..."</c> escapes decoded), each cut to 63
    /// bytes, joined with <c>.</c>. Tokens other than names (dots, a UESCAPE clause) are skipped.
    /// </summary>
    public static string Name(ReadOnlySpan<byte> sql, ReadOnlySpan<PgSqlToken> tokens, int first, int last)
    {
        int capacity = 0;
        for (int i = first; i <= last; i++)
        {
            capacity += tokens[i].Length * 2 + 1;
        }

        byte[]? rented = null;
        Span<byte> buffer = capacity <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(capacity));
        int written = 0;
        for (int i = first; i <= last; i++)
        {
            PgSqlToken token = tokens[i];
            if (token.Kind is not (PgSqlTokenKind.Word or PgSqlTokenKind.QuotedIdentifier) || IsUescapeClause(sql, tokens, i))
            {
                continue;
            }

            if (written > 0)
            {
                buffer[written++] = (byte)'.';
            }

            written += Part(sql, tokens, i, buffer[written..]);
        }

        string name = Encoding.UTF8.GetString(buffer[..written]);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        return name;
    }

    /// <summary>Whether token <paramref name="i"/> is the word UESCAPE following a <c>U&amp;"..."</c> identifier.</summary>
    public static bool IsUescapeClause(ReadOnlySpan<byte> sql, ReadOnlySpan<PgSqlToken> tokens, int i)
        => i > 0
            && tokens[i].Kind == PgSqlTokenKind.Word
            && IsUnicodeQuoted(sql, tokens[i - 1])
            && PgKeywords.Lookup(sql.Slice(tokens[i].Start, tokens[i].Length)) == PgKeyword.Uescape;

    /// <summary>Whether <paramref name="token"/> is spelled <c>U&amp;"..."</c> or <c>U&amp;'...'</c>.</summary>
    public static bool IsUnicodeQuoted(ReadOnlySpan<byte> sql, PgSqlToken token)
        => token.Length >= 3 && (sql[token.Start] | 0x20) == 'u' && sql[token.Start + 1] == '&';

    private static void LowerAscii(ReadOnlySpan<byte> source, Span<byte> target)
    {
        for (int i = 0; i < source.Length; i++)
        {
            byte b = source[i];
            target[i] = (uint)(b - 'A') <= 'Z' - 'A' ? (byte)(b | 0x20) : b;
        }
    }

    /// <summary>Writes one normalized name part; returns its length.</summary>
    private static int Part(ReadOnlySpan<byte> sql, ReadOnlySpan<PgSqlToken> tokens, int i, Span<byte> target)
    {
        PgSqlToken token = tokens[i];
        ReadOnlySpan<byte> text = sql.Slice(token.Start, token.Length);
        int length;
        if (token.Kind == PgSqlTokenKind.Word)
        {
            LowerAscii(text, target);
            length = text.Length;
        }
        else
        {
            bool unicode = IsUnicodeQuoted(sql, token);
            ReadOnlySpan<byte> body = text[(unicode ? 3 : 1)..];
            if ((token.Flags & PgSqlTokenFlags.Unterminated) == 0 && !body.IsEmpty)
            {
                body = body[..^1];
            }

            length = Unquote(body, target);
            if (unicode)
            {
                length = DecodeUnicodeEscapes(target[..length], EscapeCharacter(sql, tokens, i));
            }
        }

        return Clip(target[..length]);
    }

    /// <summary>Copies <paramref name="body"/> with every <c>""</c> turned into <c>"</c>.</summary>
    private static int Unquote(ReadOnlySpan<byte> body, Span<byte> target)
    {
        int written = 0;
        for (int i = 0; i < body.Length; i++)
        {
            target[written++] = body[i];
            if (body[i] == '"' && i + 1 < body.Length && body[i + 1] == '"')
            {
                i++;
            }
        }

        return written;
    }

    /// <summary>
    /// The escape character of a <c>U&amp;"..."</c> identifier: the one named by a following <c>UESCAPE 'c'</c>, else backslash.
    /// </summary>
    private static byte EscapeCharacter(ReadOnlySpan<byte> sql, ReadOnlySpan<PgSqlToken> tokens, int i)
    {
        if (i + 2 < tokens.Length && IsUescapeClause(sql, tokens, i + 1) && tokens[i + 2].Kind == PgSqlTokenKind.String)
        {
            PgSqlToken escape = tokens[i + 2];
            if (escape.Length == 3 && sql[escape.Start] == '\'' && sql[escape.Start + 2] == '\'')
            {
                return sql[escape.Start + 1];
            }
        }

        return (byte)'\\';
    }

    /// <summary>
    /// Decodes <c>\XXXX</c>, <c>\+XXXXXX</c> and <c>\\</c> (with <paramref name="escape"/> for the backslash) in place; returns
    /// the new length. A malformed escape leaves the text as it was: the server rejects it, so no statement naming it runs.
    /// </summary>
    private static int DecodeUnicodeEscapes(Span<byte> text, byte escape)
    {
        // Decoded text is never longer than its escapes, but a malformed escape must leave the text untouched,
        // so decode into scratch space and copy back only on success.
        byte[]? rented = null;
        Span<byte> target = text.Length <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(text.Length));
        int written = TryDecodeUnicodeEscapes(text, escape, target);
        if (written >= 0)
        {
            target[..written].CopyTo(text);
        }

        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        return written >= 0 ? written : text.Length;
    }

    /// <summary>The decoded length, or -1 when an escape is malformed.</summary>
    private static int TryDecodeUnicodeEscapes(ReadOnlySpan<byte> text, byte escape, Span<byte> target)
    {
        int written = 0;
        int highSurrogate = 0;
        for (int i = 0; i < text.Length; i++)
        {
            byte b = text[i];
            if (b != escape)
            {
                if (highSurrogate != 0)
                {
                    return -1;
                }

                target[written++] = b;
                continue;
            }

            if (i + 1 < text.Length && text[i + 1] == escape)
            {
                target[written++] = escape;
                i++;
                continue;
            }

            int digits = i + 1 < text.Length && text[i + 1] == '+' ? 6 : 4;
            int from = digits == 6 ? i + 2 : i + 1;
            if (from + digits > text.Length || !TryHex(text.Slice(from, digits), out int code))
            {
                return -1;
            }

            i = from + digits - 1;
            if (code is >= 0xD800 and <= 0xDBFF && highSurrogate == 0)
            {
                highSurrogate = code;
                continue;
            }

            if (code is >= 0xDC00 and <= 0xDFFF)
            {
                if (highSurrogate == 0)
                {
                    return -1;
                }

                code = 0x10000 + ((highSurrogate - 0xD800) << 10) + (code - 0xDC00);
                highSurrogate = 0;
            }
            else if (highSurrogate != 0 || code == 0 || code > 0x10FFFF)
            {
                return -1;
            }

            written += new Rune(code).EncodeToUtf8(target[written..]);
        }

        return highSurrogate != 0 ? -1 : written;
    }

    private static bool TryHex(ReadOnlySpan<byte> digits, out int value)
    {
        value = 0;
        foreach (byte d in digits)
        {
            int v = d is >= (byte)'0' and <= (byte)'9' ? d - '0'
                : (d | 0x20) is >= 'a' and <= 'f' ? (d | 0x20) - 'a' + 10
                : -1;
            if (v < 0)
            {
                return false;
            }

            value = (value << 4) | v;
        }

        return true;
    }

    /// <summary>The length of <paramref name="part"/> cut to 63 bytes without splitting a UTF-8 character, as the server cuts it.</summary>
    private static int Clip(ReadOnlySpan<byte> part)
    {
        if (part.Length <= MaxIdentifierBytes)
        {
            return part.Length;
        }

        int length = MaxIdentifierBytes;
        while (length > 0 && (part[length] & 0xC0) == 0x80)
        {
            length--;
        }

        return length;
    }
}
