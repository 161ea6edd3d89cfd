namespace Wire.Postgres.Enforcement;

/// <summary>
/// What a statement does to the session's statement and portal names once it succeeds: PREPARE and DECLARE define
/// one (pending until its CommandComplete), DEALLOCATE and CLOSE remove one or all, DISCARD ALL removes everything.
/// </summary>
internal sealed record PgDefinitionChange(PgDefinitionChangeKind Kind, string? Name, PgPrepared? Definition);

internal enum PgDefinitionChangeKind : byte
{
    Prepare,
    Declare,
    Deallocate,
    DeallocateAll,
    CloseCursor,
    CloseAllCursors,
    DiscardAll,
}
