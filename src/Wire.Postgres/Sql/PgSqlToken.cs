namespace Wire.Postgres.Sql;

/// <summary>One token of SQL text: where it is in the input and what it is; the text itself stays in the input.</summary>
/// <param name="Kind">What the token is.</param>
/// <param name="Start">Offset of its first byte in the input.</param>
/// <param name="Length">Its length in bytes, delimiters and prefixes included.</param>
/// <param name="Flags">Extra facts (unterminated, plain string holding a backslash, continued string).</param>
internal readonly record struct PgSqlToken(PgSqlTokenKind Kind, int Start, int Length, PgSqlTokenFlags Flags = PgSqlTokenFlags.None)
{
    /// <summary>Offset just past the token's last byte.</summary>
    public int End => Start + Length;
}
