namespace Wire.Postgres.Enforcement;

/// <summary>
/// What the catalog says about one relation (by OID): its name, its columns, the tables it inherits from
/// (partitions and inheritance children are covered by rules on their ancestors) and, for views, the table columns
/// its definition reads. <see cref="Exists"/> is false for an OID Wire's own connection cannot see (a table created
/// in the client's open transaction): every column of it is masked.
/// </summary>
internal sealed class PgRelationInfo
{
    public static PgRelationInfo Missing { get; } = new() { Schema = "", Name = "", Exists = false };

    public required string Schema { get; init; }

    public required string Name { get; init; }

    public bool Exists { get; init; } = true;

    /// <summary>Column names by attribute number.</summary>
    public Dictionary<short, string> Columns { get; } = [];

    /// <summary>Column type OIDs by attribute number.</summary>
    public Dictionary<short, uint> ColumnTypes { get; } = [];

    /// <summary><c>schema.name</c> of every ancestor (pg_inherits, transitively).</summary>
    public List<string> Ancestors { get; } = [];

    /// <summary><c>schema.table.column</c> of every table column a view reads (through other views too).</summary>
    public List<string> ViewDependencies { get; } = [];
}
