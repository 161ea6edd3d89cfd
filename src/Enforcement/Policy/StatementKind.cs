namespace Wire.Enforcement.Policy;

/// <summary>
/// What a SQL statement does, as rules name it in their <c>statements</c> key (DESIGN.md §4). The config
/// names are the lower-case member names, with <c>copy-to</c>, <c>copy-from</c> and <c>copy-program</c> for the COPY kinds.
/// </summary>
public enum StatementKind : byte
{
    /// <summary>Anything not listed below (SHOW, FETCH, LOCK, COMMENT, plain EXPLAIN, ...).</summary>
    Other = 0,

    /// <summary>SELECT, TABLE, VALUES, and DECLARE ... CURSOR FOR a query.</summary>
    Select,

    /// <summary>INSERT.</summary>
    Insert,

    /// <summary>UPDATE.</summary>
    Update,

    /// <summary>DELETE.</summary>
    Delete,

    /// <summary>MERGE.</summary>
    Merge,

    /// <summary>CREATE of any object, and SELECT INTO.</summary>
    Create,

    /// <summary>ALTER of any object.</summary>
    Alter,

    /// <summary>DROP of any object.</summary>
    Drop,

    /// <summary>TRUNCATE.</summary>
    Truncate,

    /// <summary>GRANT.</summary>
    Grant,

    /// <summary>REVOKE.</summary>
    Revoke,

    /// <summary>COPY ... TO (STDOUT or a server file).</summary>
    CopyTo,

    /// <summary>COPY ... FROM (STDIN or a server file).</summary>
    CopyFrom,

    /// <summary>COPY ... TO PROGRAM or FROM PROGRAM.</summary>
    CopyProgram,

    /// <summary>DO (an anonymous code block).</summary>
    Do,

    /// <summary>CALL of a procedure.</summary>
    Call,

    /// <summary>EXECUTE of a prepared statement.</summary>
    Execute,

    /// <summary>PREPARE.</summary>
    Prepare,

    /// <summary>SET, RESET, SET ROLE, SET SESSION AUTHORIZATION.</summary>
    Set,

    /// <summary>BEGIN, START TRANSACTION, COMMIT, END, ROLLBACK, ABORT, SAVEPOINT, RELEASE, PREPARE TRANSACTION, COMMIT/ROLLBACK PREPARED.</summary>
    Transaction,

    /// <summary>VACUUM.</summary>
    Vacuum,

    /// <summary>ANALYZE (or ANALYSE).</summary>
    Analyze,

    /// <summary>LISTEN and UNLISTEN.</summary>
    Listen,

    /// <summary>NOTIFY.</summary>
    Notify,
}
