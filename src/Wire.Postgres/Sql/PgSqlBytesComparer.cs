namespace Wire.Postgres.Sql;

/// <summary>
/// Byte-content equality for SQL texts, looked up by span so a cache hit allocates nothing. The hash is seeded per
/// process (<see cref="HashCode"/>), so clients cannot choose texts that all collide.
/// </summary>
internal sealed class PgSqlBytesComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
{
    /// <summary>The shared instance.</summary>
    public static PgSqlBytesComparer Instance { get; } = new();

    private PgSqlBytesComparer()
    {
    }

    /// <inheritdoc />
    public bool Equals(byte[]? x, byte[]? y) => ReferenceEquals(x, y) || (x is not null && y is not null && x.AsSpan().SequenceEqual(y));

    /// <inheritdoc />
    public int GetHashCode(byte[] obj) => Hash(obj);

    /// <inheritdoc />
    public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

    /// <inheritdoc />
    public int GetHashCode(ReadOnlySpan<byte> alternate) => Hash(alternate);

    /// <inheritdoc />
    public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();

    private static int Hash(ReadOnlySpan<byte> bytes)
    {
        var hash = default(HashCode);
        hash.AddBytes(bytes);
        return hash.ToHashCode();
    }
}
