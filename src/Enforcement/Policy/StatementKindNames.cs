namespace Wire.Enforcement.Policy;

/// <summary>The config names of <see cref="StatementKind"/> (DESIGN.md §4): <c>select</c>, <c>copy-to</c>, ...</summary>
internal static class StatementKindNames
{
    private static readonly string[] Names =
    [
        "other", "select", "insert", "update", "delete", "merge", "create", "alter", "drop", "truncate", "grant", "revoke",
        "copy-to", "copy-from", "copy-program", "do", "call", "execute", "prepare", "set", "transaction", "vacuum", "analyze",
        "listen", "notify",
    ];

    // The SQL keyword that starts each kind, for OpenTelemetry's db.operation.name; null where one kind covers several
    // keywords (SET/RESET, LISTEN/UNLISTEN, BEGIN/COMMIT/...) or none.
    private static readonly string?[] Keywords =
    [
        null, "SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "ALTER", "DROP", "TRUNCATE", "GRANT", "REVOKE",
        "COPY", "COPY", "COPY", "DO", "CALL", "EXECUTE", "PREPARE", null, null, "VACUUM", "ANALYZE", null, "NOTIFY",
    ];

    /// <summary>Every config name, in enum order.</summary>
    public static IReadOnlyList<string> All => Names;

    /// <summary>The config name of <paramref name="kind"/>.</summary>
    public static string Name(StatementKind kind) => Names[(int)kind];

    /// <summary>
    /// The upper-case SQL keyword of <paramref name="kind"/> (<c>SELECT</c>, <c>DROP</c>, <c>COPY</c>, ...), or null for
    /// <see cref="StatementKind.Other"/>, <see cref="StatementKind.Set"/>, <see cref="StatementKind.Transaction"/> and
    /// <see cref="StatementKind.Listen"/>, which stand for more than one keyword.
    /// </summary>
    internal static string? SqlKeyword(StatementKind kind) => Keywords[(int)kind];

    /// <summary>Parses a config name (exact, lower case).</summary>
    public static bool TryParse(string name, out StatementKind kind)
    {
        int index = Array.IndexOf(Names, name);
        kind = (StatementKind)Math.Max(index, 0);
        return index >= 0;
    }
}
