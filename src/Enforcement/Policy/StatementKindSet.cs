namespace Wire.Enforcement.Policy;

/// <summary>
/// A set of <see cref="StatementKind"/>s as one bit mask: what one execution does, counting the statement it wraps
/// (EXECUTE of a prepared DELETE) and the data-modifying statements inside it (<c>WITH x AS (DELETE ...) SELECT</c>).
/// </summary>
public readonly record struct StatementKindSet
{
    private readonly uint _bits;

    private StatementKindSet(uint bits) => _bits = bits;

    /// <summary>The empty set.</summary>
    public static StatementKindSet Empty => default;

    /// <summary>Whether the set has no kind.</summary>
    public bool IsEmpty => _bits == 0;

    /// <summary>The set holding <paramref name="kind"/> only.</summary>
    public static StatementKindSet Of(StatementKind kind) => new(1u << (int)kind);

    /// <summary>This set with <paramref name="kind"/> added.</summary>
    public StatementKindSet With(StatementKind kind) => new(_bits | (1u << (int)kind));

    /// <summary>The union of this set and <paramref name="other"/>.</summary>
    public StatementKindSet Union(StatementKindSet other) => new(_bits | other._bits);

    /// <summary>Whether <paramref name="kind"/> is in the set.</summary>
    public bool Contains(StatementKind kind) => (_bits & (1u << (int)kind)) != 0;

    /// <summary>Whether the two sets share a kind.</summary>
    public bool Overlaps(StatementKindSet other) => (_bits & other._bits) != 0;

    /// <summary>Whether the set holds exactly one kind, and which (without enumerating, so without allocating).</summary>
    internal bool TryGetSingle(out StatementKind kind)
    {
        kind = (StatementKind)System.Numerics.BitOperations.TrailingZeroCount(_bits);
        return _bits != 0 && (_bits & (_bits - 1)) == 0;
    }

    /// <summary>The kinds in the set, in enum order.</summary>
    public IEnumerable<StatementKind> Kinds
    {
        get
        {
            for (int i = 0; i < 32; i++)
            {
                if ((_bits & (1u << i)) != 0)
                {
                    yield return (StatementKind)i;
                }
            }
        }
    }
}
