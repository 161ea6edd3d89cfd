namespace Wire.Enforcement.Policy;

/// <summary>The config names of <see cref="StatementKind"/> (DESIGN.md §4): <c>select</c>, <c>copy-to</c>, ...</summary>
public static class StatementKindNames
{
    private static readonly string[] Names =
    [
        "other", "select", "insert", "update", "delete", "merge", "create", "alter", "drop", "truncate", "grant", "revoke",
        "copy-to", "copy-from", "copy-program", "do", "call", "execute", "prepare", "set", "transaction", "vacuum", "analyze",
        "listen", "notify",
    ];

    /// <summary>Every config name, in enum order.</summary>
    public static IReadOnlyList<string> All => Names;

    /// <summary>The config name of <paramref name="kind"/>.</summary>
    public static string Name(StatementKind kind) => Names[(int)kind];

    /// <summary>Parses a config name (exact, lower case).</summary>
    public static bool TryParse(string name, out StatementKind kind)
    {
        int index = Array.IndexOf(Names, name);
        kind = (StatementKind)Math.Max(index, 0);
        return index >= 0;
    }
}
