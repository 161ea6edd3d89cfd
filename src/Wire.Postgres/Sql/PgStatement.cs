using Wire.Enforcement.Policy;

namespace Wire.Postgres.Sql;

/// <summary>
/// What one SQL statement does, as far as policy rules need to know (DESIGN.md §3-§4): its kinds, the relations it
/// touches, the functions it calls, and the risky shapes (UPDATE/DELETE without WHERE, copying data out, opaque code).
/// Immutable. Built by <see cref="PgSqlClassifier"/>; names are normalized as PostgreSQL resolves them (unquoted
/// parts lower-cased, quoted parts verbatim without quotes, parts joined with <c>.</c>, each cut to 63 bytes).
/// </summary>
internal sealed class PgStatement
{
    /// <summary>Offset of the statement's first token in the classified text.</summary>
    public required int Start { get; init; }

    /// <summary>Bytes from <see cref="Start"/> to the end of the statement's last token (no trailing <c>;</c>).</summary>
    public required int Length { get; init; }

    /// <summary>
    /// The statement with comments removed, every run of whitespace and comments turned into one space, unquoted words
    /// lower-cased (ASCII), constants and quoted identifiers verbatim (a constant continued across lines keeps the text
    /// between its pieces), trimmed, without the <c>;</c>. Invalid UTF-8 appears as U+FFFD.
    /// </summary>
    public required string NormalizedText { get; init; }

    /// <summary>The primary kind: the statement's own verb (for <c>EXPLAIN ANALYZE x</c>, the kind of <c>x</c>).</summary>
    public required StatementKind Kind { get; init; }

    /// <summary>
    /// <see cref="Kind"/> plus every kind the execution also performs: data-modifying CTEs, MERGE actions, INSERT ... ON
    /// CONFLICT DO UPDATE (Update), SELECT INTO (Create), CREATE TABLE/MATERIALIZED VIEW AS (Select, and Execute for
    /// AS EXECUTE), VACUUM ANALYZE (Analyze), the statement under EXPLAIN ANALYZE. A plain EXPLAIN is only Other.
    /// </summary>
    public required StatementKindSet Kinds { get; init; }

    /// <summary>Some UPDATE or DELETE in the statement has no WHERE of its own (or one made only of constants).</summary>
    public bool NoWhere { get; init; }

    /// <summary>A WITH clause holds INSERT, UPDATE, DELETE or MERGE.</summary>
    public bool DataModifyingCte { get; init; }

    /// <summary>
    /// The statement copies query results somewhere other than the client: CREATE TABLE AS, CREATE MATERIALIZED VIEW AS,
    /// SELECT INTO, INSERT ... SELECT/TABLE (or VALUES holding a subquery), a subquery or FROM feeding an UPDATE's SET,
    /// MERGE with an INSERT or UPDATE action, COPY TO a server file, COPY to or from a program.
    /// </summary>
    public bool CopiesData { get; init; }

    /// <summary>The statement runs code Wire cannot see into: DO, CALL, or any function call.</summary>
    public bool OpaqueCode { get; init; }

    /// <summary>The statement is an EXPLAIN (with or without ANALYZE).</summary>
    public bool Explain { get; init; }

    /// <summary>Every table-like name read or written, normalized, distinct, in first-seen order; CTE names excluded.</summary>
    public required IReadOnlyList<string> Relations { get; init; }

    /// <summary>
    /// Every function called (a name directly followed by <c>(</c> that is not syntax), normalized, distinct, in first-seen
    /// order. Not calls: keyword syntax (<c>IN (</c>, <c>OVER (</c>, ...), type modifiers, column lists, aliases, names in
    /// signatures (<c>CREATE FUNCTION f(</c>), and CAST, COALESCE, GREATEST, LEAST, NULLIF (expression nodes, not catalog
    /// functions). Special-syntax functions (<c>extract</c>, <c>substring</c>, <c>trim</c>, ...) are reported.
    /// </summary>
    public required IReadOnlyList<string> Functions { get; init; }

    /// <summary>For <c>PREPARE name AS ...</c>: the prepared statement's name.</summary>
    public string? PreparedName { get; init; }

    /// <summary>For <c>PREPARE name AS ...</c>: the classification of the prepared statement.</summary>
    public PgStatement? Prepared { get; init; }

    /// <summary>For <c>EXECUTE name</c> (also <c>CREATE TABLE ... AS EXECUTE name</c>): the prepared statement executed.</summary>
    public string? ExecuteName { get; init; }

    /// <summary>For <c>DECLARE name CURSOR</c>: the cursor's name.</summary>
    public string? CursorName { get; init; }

    /// <inheritdoc />
    public override string ToString() => $"{Kind} [{string.Join(',', Kinds.Kinds)}] {NormalizedText}";
}
