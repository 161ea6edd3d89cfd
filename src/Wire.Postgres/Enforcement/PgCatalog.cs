using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Wire.Postgres.Protocol;
using Wire.Postgres.Proxy;

namespace Wire.Postgres.Enforcement;

/// <summary>
/// Resolves RowDescription origins (table OID) to names through a cached catalog query on Wire's own connection to
/// the target (DESIGN.md §3), so column rules survive aliases, <c>SELECT *</c> and cached prepared statements.
/// One per target, shared by its sessions. Entries expire after <see cref="Ttl"/>; a session that runs DDL calls
/// <see cref="Invalidate"/>. Queries are serialized on the one connection, which is reopened when it fails.
/// </summary>
internal sealed partial class PgCatalog : IDisposable
{
    // Columns, ancestors (partitions, inheritance) and, for views, the table columns their rules read (transitively).
    private const string Query = """
        WITH RECURSIVE rel(oid) AS (SELECT unnest('{{{0}}}'::oid[])),
        anc(rel, anc) AS (
          SELECT oid, oid FROM rel
          UNION SELECT a.rel, i.inhparent FROM anc a JOIN pg_catalog.pg_inherits i ON i.inhrelid = a.anc),
        deps(rel, base, attnum) AS (
          SELECT r.oid, d.refobjid, d.refobjsubid FROM rel r
            JOIN pg_catalog.pg_rewrite w ON w.ev_class = r.oid
            JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = w.oid
             AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjsubid > 0 AND d.refobjid <> r.oid
          UNION SELECT x.rel, d.refobjid, d.refobjsubid FROM deps x
            JOIN pg_catalog.pg_rewrite w ON w.ev_class = x.base
            JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = w.oid
             AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjsubid > 0 AND d.refobjid <> x.base)
        SELECT 'c', c.oid, a.attnum, n.nspname, c.relname, a.attname, a.atttypid FROM rel r
          JOIN pg_catalog.pg_class c ON c.oid = r.oid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        UNION ALL
        SELECT 'a', a.rel, 0, n.nspname, c.relname, NULL, NULL FROM anc a
          JOIN pg_catalog.pg_class c ON c.oid = a.anc JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE a.anc <> a.rel
        UNION ALL
        SELECT 'd', x.rel, 0, n.nspname, c.relname, t.attname, NULL FROM deps x
          JOIN pg_catalog.pg_class c ON c.oid = x.base JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_catalog.pg_attribute t ON t.attrelid = x.base AND t.attnum = x.attnum
        """;

    private readonly PgTargetOptions _target;
    private readonly PgLimits _limits;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _connectionLock = new(1, 1);
    private readonly Lock _cacheLock = new();
    private readonly Dictionary<uint, (PgRelationInfo Info, long Expires)> _cache = [];
    private readonly Dictionary<string, (uint[] Oids, long Expires)> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (bool UserDefined, long Expires)> _functions = new(StringComparer.Ordinal);
    private PgUpstreamConnection? _connection;
    private int _generation;

    public PgCatalog(PgTargetOptions target, PgLimits limits, ILogger logger, TimeProvider time)
    {
        _target = target;
        _limits = limits;
        _logger = logger;
        _time = time;
    }

    /// <summary>
    /// Changes whenever an entry is added, replaced or forgotten: an answer computed from the catalog stays right while
    /// the generation is unchanged and none of the entries it read has expired.
    /// </summary>
    public int Generation => Volatile.Read(ref _generation);

    /// <summary>How long a resolved relation is trusted. Default 60 s.</summary>
    public TimeSpan Ttl { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The cached entry for <paramref name="oid"/>, if it is fresh.</summary>
    public bool TryGet(uint oid, out PgRelationInfo info)
    {
        long validUntil = long.MaxValue;
        return TryGet(oid, out info, ref validUntil);
    }

    /// <summary>As above; lowers <paramref name="validUntil"/> to the entry's expiry.</summary>
    public bool TryGet(uint oid, out PgRelationInfo info, ref long validUntil)
    {
        lock (_cacheLock)
        {
            if (_cache.TryGetValue(oid, out var entry) && entry.Expires > _time.GetTimestamp())
            {
                info = entry.Info;
                validUntil = Math.Min(validUntil, entry.Expires);
                return true;
            }
        }
        info = PgRelationInfo.Missing;
        return false;
    }

    /// <summary>
    /// The catalog could not be read: remember these OIDs and names as unresolvable for a short while, so their columns are
    /// masked whole and statements over them count as computing with masked data (fail closed, over-masking).
    /// </summary>
    public void MarkUnresolvable(IEnumerable<uint> oids, IEnumerable<string> names)
    {
        long expires = _time.GetTimestamp() + 5 * _time.TimestampFrequency;
        lock (_cacheLock)
        {
            foreach (var oid in oids)
            {
                _cache[oid] = (PgRelationInfo.Missing, expires);
            }
            foreach (var name in names)
            {
                _names[name] = ([], expires);
                _functions[name] = (true, expires);
            }
            _generation++;
        }
    }

    /// <summary>Forgets everything (a session ran DDL).</summary>
    public void Invalidate()
    {
        lock (_cacheLock)
        {
            _cache.Clear();
            _names.Clear();
            _functions.Clear();
            _generation++;
        }
    }

    /// <summary>
    /// The relations a name in SQL may mean (an unqualified name: that relation name in any schema), when cached and
    /// fresh. Every OID found is also resolved. False when the name must be looked up first.
    /// </summary>
    public bool TryGetByName(string name, List<PgRelationInfo> into)
    {
        long validUntil = long.MaxValue;
        return TryGetByName(name, into, ref validUntil);
    }

    /// <summary>As above; lowers <paramref name="validUntil"/> to the earliest expiry among the entries read.</summary>
    public bool TryGetByName(string name, List<PgRelationInfo> into, ref long validUntil)
    {
        long now = _time.GetTimestamp();
        lock (_cacheLock)
        {
            if (!_names.TryGetValue(name, out var entry) || entry.Expires <= now)
            {
                return false;
            }
            validUntil = Math.Min(validUntil, entry.Expires);
            foreach (var oid in entry.Oids)
            {
                if (!_cache.TryGetValue(oid, out var relation) || relation.Expires <= now)
                {
                    return false;
                }
                validUntil = Math.Min(validUntil, relation.Expires);
                into.Add(relation.Info);
            }
            return true;
        }
    }

    /// <summary>Looks up relation names as SQL wrote them (<c>name</c> or <c>schema.name</c>), then their OIDs.</summary>
    public async Task ResolveNamesAsync(IReadOnlyCollection<string> names, CancellationToken ct)
    {
        var found = new Dictionary<string, List<uint>>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            found[name] = [];
        }

        await _connectionLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var conditions = string.Join(" OR ", names.Select(n =>
            {
                int dot = n.LastIndexOf('.');
                string relation = Literal(n[(dot + 1)..]);
                return dot < 0 ? $"c.relname = {relation}" : $"(c.relname = {relation} AND n.nspname = {Literal(n[..dot][(n[..dot].LastIndexOf('.') + 1)..])})";
            }));
            string sql = "SELECT n.nspname, c.relname, c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE " + conditions;
            var rows = await QueryWithRetryAsync(sql, ct).ConfigureAwait(false);
            foreach (var row in rows)
            {
                uint oid = uint.Parse(row[2]!, CultureInfo.InvariantCulture);
                foreach (var name in names)
                {
                    int dot = name.LastIndexOf('.');
                    bool match = dot < 0 ? name == row[1] : name[(dot + 1)..] == row[1] && name[..dot].EndsWith(row[0]!, StringComparison.Ordinal);
                    if (match)
                    {
                        found[name].Add(oid);
                    }
                }
            }
        }
        finally
        {
            _connectionLock.Release();
        }

        await ResolveAsync([.. found.Values.SelectMany(o => o)], ct).ConfigureAwait(false);
        long expires = Expiry();
        lock (_cacheLock)
        {
            foreach (var (name, oids) in found)
            {
                _names[name] = ([.. oids], expires);
            }
            _generation++;
        }
    }

    /// <summary>
    /// Whether a function name (as SQL wrote it) may be user-defined: some function of that name lives outside
    /// pg_catalog and information_schema, or none is known (created in the client's open transaction). False when the
    /// name must be looked up first.
    /// </summary>
    public bool TryGetFunction(string name, out bool userDefined, ref long validUntil)
    {
        lock (_cacheLock)
        {
            if (_functions.TryGetValue(name, out var entry) && entry.Expires > _time.GetTimestamp())
            {
                userDefined = entry.UserDefined;
                validUntil = Math.Min(validUntil, entry.Expires);
                return true;
            }
        }
        userDefined = true;
        return false;
    }

    /// <summary>Looks up function names (see <see cref="TryGetFunction"/>).</summary>
    public async Task ResolveFunctionsAsync(IReadOnlyCollection<string> names, CancellationToken ct)
    {
        var plain = names.ToDictionary(n => n, n => n[(n.LastIndexOf('.') + 1)..], StringComparer.Ordinal);
        var builtIn = new HashSet<string>(StringComparer.Ordinal);
        var userDefined = new HashSet<string>(StringComparer.Ordinal);
        await _connectionLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            string sql = "SELECT p.proname, bool_or(n.nspname NOT IN ('pg_catalog', 'information_schema')) FROM pg_catalog.pg_proc p " +
                "JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE p.proname IN (" +
                string.Join(", ", plain.Values.Distinct().Select(Literal)) + ") GROUP BY p.proname";
            foreach (var row in await QueryWithRetryAsync(sql, ct).ConfigureAwait(false))
            {
                (row[1] == "t" ? userDefined : builtIn).Add(row[0]!);
            }
        }
        finally
        {
            _connectionLock.Release();
        }

        long expires = Expiry();
        lock (_cacheLock)
        {
            foreach (var (name, function) in plain)
            {
                _functions[name] = (!builtIn.Contains(function) || userDefined.Contains(function), expires);
            }
            _generation++;
        }
    }

    private long Expiry() => _time.GetTimestamp() + (long)(Ttl.TotalSeconds * _time.TimestampFrequency);

    private static string Literal(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    private async Task<List<string?[]>> QueryWithRetryAsync(string sql, CancellationToken ct)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                _connection ??= await PgUpstreamConnection.ConnectAsync(
                    _target, [new("application_name", "wire-catalog")], _target.Username, _limits, ct).ConfigureAwait(false);
                return await QueryAsync(_connection, sql, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (attempt == 0 && ex is IOException or PgUpstreamException or ProtocolViolationException or ObjectDisposedException)
            {
                Log.CatalogReconnect(_logger, _target.Name, ex.Message);
                _connection?.Dispose();
                _connection = null;
            }
        }
    }

    private async Task<List<string?[]>> QueryAsync(PgUpstreamConnection connection, string sql, CancellationToken ct)
    {
        using var io = PgHandshakeIO.Rent(connection.Stream);
        PgMessageWriter.WriteQuery(io.Output, sql);
        await io.FlushAsync(ct).ConfigureAwait(false);

        var rows = new List<string?[]>();
        string? error = null;
        while (true)
        {
            byte type = await io.ReadMessageAsync(_limits.MaxInspectedFrameBytes, ct).ConfigureAwait(false);
            switch (type)
            {
                case (byte)'D':
                    var reader = new PgBodyReader(io.Body.Span);
                    var row = new string?[reader.ReadInt16()];
                    for (int i = 0; i < row.Length; i++)
                    {
                        row[i] = Text(ref reader);
                    }
                    rows.Add(row);
                    break;
                case (byte)'E':
                    error = PgErrorFields.Parse(io.Body.Span).Message;
                    break;
                case (byte)'Z':
                    if (error is not null)
                    {
                        throw new PgUpstreamException("the catalog query failed", error);
                    }
                    return rows;
            }
        }
    }

    /// <summary>Looks up <paramref name="oids"/> (those not cached) in one query. Throws when the catalog cannot be read.</summary>
    public async Task ResolveAsync(IReadOnlyCollection<uint> oids, CancellationToken ct)
    {
        await _connectionLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var wanted = oids.Where(o => !TryGet(o, out _)).Distinct().ToList();
            if (wanted.Count == 0)
            {
                return;
            }

            var found = new Dictionary<uint, PgRelationInfo>();
            var list = string.Join(",", wanted.Select(o => o.ToString(CultureInfo.InvariantCulture)));
            foreach (var row in await QueryWithRetryAsync(string.Format(CultureInfo.InvariantCulture, Query, list), ct).ConfigureAwait(false))
            {
                AddRow(row, found);
            }

            long expires = Expiry();
            lock (_cacheLock)
            {
                foreach (var oid in wanted)
                {
                    _cache[oid] = (found.GetValueOrDefault(oid) ?? PgRelationInfo.Missing, expires);
                }
                _generation++;
            }
        }
        finally
        {
            _connectionLock.Release();
        }
    }

    private static void AddRow(string?[] row, Dictionary<uint, PgRelationInfo> found)
    {
        if (row.Length != 7)
        {
            ProtocolViolationException.Throw("unexpected catalog row");
        }
        uint oid = uint.Parse(row[1]!, CultureInfo.InvariantCulture);
        short attnum = short.Parse(row[2] ?? "0", CultureInfo.InvariantCulture);
        string schema = row[3]!;
        string relation = row[4]!;
        string? column = row[5];

        switch (row[0])
        {
            case "c":
                if (!found.TryGetValue(oid, out var info))
                {
                    found[oid] = info = new PgRelationInfo { Schema = schema, Name = relation };
                }
                if (column is not null)
                {
                    info.Columns[attnum] = column;
                    info.ColumnTypes[attnum] = uint.Parse(row[6] ?? "0", CultureInfo.InvariantCulture);
                }
                break;
            case "a" when found.TryGetValue(oid, out var child):
                child.Ancestors.Add(schema + "." + relation);
                break;
            case "d" when found.TryGetValue(oid, out var view):
                view.ViewDependencies.Add(schema + "." + relation + "." + column);
                break;
        }
    }

    private static string? Text(ref PgBodyReader reader)
    {
        int length = reader.ReadInt32();
        return length < 0 ? null : Encoding.UTF8.GetString(reader.ReadBytes(length));
    }

    public void Dispose()
    {
        _connection?.Dispose();
        _connectionLock.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(2101, LogLevel.Information, "Catalog connection to target {Target} is reopened: {Reason}")]
        public static partial void CatalogReconnect(ILogger logger, string target, string reason);
    }
}
