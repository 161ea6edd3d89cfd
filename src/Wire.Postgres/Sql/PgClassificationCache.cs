namespace Wire.Postgres.Sql;

/// <summary>
/// Classifications of SQL texts seen before, shared by every session: clients send the same statements over and over
/// (prepared statements, ORM queries), and a hit costs a hash of the bytes and no allocation. Thread-safe and bounded:
/// when full, the oldest entry makes room (first in, first out, so eviction is O(1) and needs no bookkeeping on hits).
/// Texts longer than the entry size limit are classified but not kept, so the cache holds at most
/// capacity x limit bytes of SQL.
/// A text is kept only the second time it is seen (a table of recent hashes, no allocation, decides): statements with
/// their values in the text (the simple protocol's literals) are each seen once, and caching them would only turn every
/// classification into garbage that lives long enough to reach gen2, where it piles up in the working set until a
/// full collection (found by the soak test, docs/reliability.md).
/// </summary>
internal sealed class PgClassificationCache
{
    /// <summary>Entries kept by default.</summary>
    public const int DefaultCapacity = 4096;

    /// <summary>Longest text kept by default, in bytes.</summary>
    public const int DefaultMaxSqlLength = 16 * 1024;

    private readonly Lock _lock = new();
    private readonly int _capacity;
    private readonly int _maxSqlLength;

    // One map per string mode: the mode is part of the key, and two maps keep the lookup key a plain span.
    private readonly Dictionary<byte[], PgSqlScript> _standard;
    private readonly Dictionary<byte[], PgSqlScript> _escaping;
    private readonly Dictionary<byte[], PgSqlScript>.AlternateLookup<ReadOnlySpan<byte>> _standardLookup;
    private readonly Dictionary<byte[], PgSqlScript>.AlternateLookup<ReadOnlySpan<byte>> _escapingLookup;

    /// <summary>Hashes of texts seen once and not kept, by hash: a text whose hash is here is kept when seen again.</summary>
    private readonly int[] _seenOnce;

    /// <summary>Insertion order, for eviction: a ring of the keys in the order they were added.</summary>
    private readonly (byte[] Sql, bool Standard)[] _order;
    private int _next;
    private int _count;

    /// <summary>Creates an empty cache.</summary>
    /// <param name="capacity">Most entries kept.</param>
    /// <param name="maxSqlLength">Longest text, in bytes, that is kept.</param>
    public PgClassificationCache(int capacity = DefaultCapacity, int maxSqlLength = DefaultMaxSqlLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxSqlLength);
        _capacity = capacity;
        _maxSqlLength = maxSqlLength;
        _standard = new Dictionary<byte[], PgSqlScript>(capacity, PgSqlBytesComparer.Instance);
        _escaping = new Dictionary<byte[], PgSqlScript>(PgSqlBytesComparer.Instance);
        _standardLookup = _standard.GetAlternateLookup<ReadOnlySpan<byte>>();
        _escapingLookup = _escaping.GetAlternateLookup<ReadOnlySpan<byte>>();
        _order = new (byte[], bool)[capacity];
        _seenOnce = new int[Math.Max(64, capacity * 2)];
    }

    /// <summary>Entries currently kept.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>The classification of <paramref name="sql"/> under the given string mode, from the cache or computed and added.</summary>
    public PgSqlScript Classify(ReadOnlySpan<byte> sql, bool standardConformingStrings)
    {
        var lookup = standardConformingStrings ? _standardLookup : _escapingLookup;
        lock (_lock)
        {
            if (lookup.TryGetValue(sql, out PgSqlScript? cached))
            {
                return cached;
            }
        }

        // Classify outside the lock: it is the slow part, and two threads racing on one text both get a correct answer.
        PgSqlScript script = PgSqlClassifier.Classify(sql, standardConformingStrings);
        if (sql.Length > _maxSqlLength)
        {
            return script;
        }

        // The string mode is part of the key: fold it into the hash the admission table keeps.
        int hash = PgSqlBytesComparer.Instance.GetHashCode(sql) ^ (standardConformingStrings ? 0 : 0x5bd1e995);
        int slot = (int)((uint)hash % (uint)_seenOnce.Length);
        lock (_lock)
        {
            if (_seenOnce[slot] != hash)
            {
                _seenOnce[slot] = hash;
                return script;
            }
        }

        byte[] key = sql.ToArray();
        lock (_lock)
        {
            Dictionary<byte[], PgSqlScript> map = standardConformingStrings ? _standard : _escaping;
            if (map.TryGetValue(key, out PgSqlScript? raced))
            {
                return raced;
            }

            if (_count == _capacity)
            {
                (byte[] oldest, bool standard) = _order[_next];
                (standard ? _standard : _escaping).Remove(oldest);
                _count--;
            }

            map.Add(key, script);
            _order[_next] = (key, standardConformingStrings);
            _next = (_next + 1) % _capacity;
            _count++;
        }

        return script;
    }

    /// <summary>Drops every entry.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _standard.Clear();
            _escaping.Clear();
            Array.Clear(_seenOnce);
            Array.Clear(_order);
            _next = 0;
            _count = 0;
        }
    }
}
