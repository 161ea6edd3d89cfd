namespace Wire.Postgres.Sql;

/// <summary>
/// The statements of one SQL text (a simple Query, or the text of a Parse), classified. Immutable, so one
/// instance can be cached and shared by every session that sends the same text.
/// </summary>
internal sealed class PgSqlScript
{
    /// <summary>Creates a script.</summary>
    /// <param name="statements">The statements in text order; empty ones already dropped.</param>
    /// <param name="dependsOnStringMode">
    /// Whether the other <c>standard_conforming_strings</c> setting could split the text differently.
    /// </param>
    public PgSqlScript(IReadOnlyList<PgStatement> statements, bool dependsOnStringMode)
    {
        Statements = statements;
        DependsOnStringMode = dependsOnStringMode;
    }

    /// <summary>The statements, in text order. Empty statements (<c>;;</c>, comments only) are not listed.</summary>
    public IReadOnlyList<PgStatement> Statements { get; }

    /// <summary>
    /// True when a plain <c>'...'</c> constant holds a backslash: lexing with the other
    /// <c>standard_conforming_strings</c> setting could end that constant elsewhere and split the text differently,
    /// so the classification is only valid for the setting it was made with.
    /// </summary>
    public bool DependsOnStringMode { get; }
}
