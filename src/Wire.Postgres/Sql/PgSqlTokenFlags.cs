namespace Wire.Postgres.Sql;

/// <summary>Facts about a token that its kind does not say.</summary>
[Flags]
internal enum PgSqlTokenFlags : byte
{
    /// <summary>Nothing to note.</summary>
    None = 0,

    /// <summary>A string, quoted identifier or dollar quote whose closing delimiter is missing: it runs to the end of the input.</summary>
    Unterminated = 1,

    /// <summary>
    /// A plain (<c>'...'</c> or <c>N'...'</c>) string holding a backslash: with the other
    /// <c>standard_conforming_strings</c> setting it could end somewhere else.
    /// </summary>
    PlainBackslash = 2,

    /// <summary>A string made of several quoted pieces joined across newlines.</summary>
    Continued = 4,
}
