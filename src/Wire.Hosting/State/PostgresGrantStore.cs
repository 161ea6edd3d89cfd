using Microsoft.Extensions.Logging;
using Npgsql;
using Wire.Enforcement.Grants;
using Wire.Enforcement.Identity;

namespace Wire.Hosting.State;

/// <summary>
/// Just-in-time grants shared by the gateway instances of one database: rows of <c>wire_grants</c>. Every change is a
/// conditional UPDATE (the first decision wins) whose NOTIFY on <c>wire_grant</c> makes each instance read the row and
/// apply it to its registry: an approval through instance B admits the requester on instance A, a revocation through B
/// ends A's sessions. After the listening connection was lost, every instance reloads the open grants.
/// </summary>
internal sealed partial class PostgresGrantStore : IGrantStore
{
    private const string Channel = "wire_grant";
    private const string Columns =
        "id, subject, groups, method, target, duration_ms, reason, requested_at, status, decided_by, decided_at, expires_at, ended_at, note, recording";

    /// <summary>The table, for <see cref="PostgresState"/>'s schema.</summary>
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS wire_grants (
            id text PRIMARY KEY,
            subject text NOT NULL,
            groups text[] NOT NULL,
            method text NOT NULL,
            target text NOT NULL,
            duration_ms bigint NOT NULL,
            reason text NOT NULL,
            requested_at timestamptz NOT NULL,
            status text NOT NULL,
            decided_by text,
            decided_at timestamptz,
            expires_at timestamptz,
            ended_at timestamptz,
            note text,
            recording text);
        CREATE INDEX IF NOT EXISTS wire_grants_open ON wire_grants (requested_at) WHERE status IN ('pending', 'active');
        DELETE FROM wire_grants WHERE ended_at < now() - interval '30 days';
        """;

    private readonly PostgresState _state;
    private GrantRegistry? _registry;

    /// <summary>Subscribes to the grants' channel; call before the state starts listening.</summary>
    public PostgresGrantStore(PostgresState state)
    {
        _state = state;
        state.Subscribe(Channel, id => _ = RefreshAsync(id));
        state.Reconnected += () => _ = ReloadAsync();
    }

    private ILogger Logger => _state.LoggerFactory.CreateLogger("Wire.Grants");

    /// <summary>Makes <paramref name="registry"/> keep its grants here (loading those stored); once the state has started.</summary>
    public void Attach(GrantRegistry registry)
    {
        registry.Store = this;
        _registry = registry;
    }

    public IReadOnlyList<Grant> Load()
    {
        using var command = _state.DataSource.CreateCommand($"""
            SELECT {Columns} FROM wire_grants
            WHERE status IN ('pending', 'active') OR ended_at > now() - interval '1 day'
            ORDER BY requested_at LIMIT 10000
            """);
        using var reader = command.ExecuteReader();
        var grants = new List<Grant>();
        while (reader.Read())
        {
            grants.Add(Read(reader));
        }
        return grants;
    }

    public void Add(Grant grant)
    {
        using var command = _state.DataSource.CreateCommand($"""
            WITH added AS (
                INSERT INTO wire_grants ({Columns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id)
            SELECT pg_notify('{Channel}', id) FROM added
            """);
        var p = command.Parameters;
        p.AddWithValue(grant.Id);
        p.AddWithValue(grant.Requester.Subject);
        p.AddWithValue(grant.Requester.Groups.ToArray());
        p.AddWithValue(grant.Requester.Method);
        p.AddWithValue(grant.Target);
        p.AddWithValue((long)grant.Duration.TotalMilliseconds);
        p.AddWithValue(grant.Reason);
        p.AddWithValue(grant.RequestedAt.ToUniversalTime());
        AddState(p, grant);
        command.ExecuteNonQuery();
    }

    public (bool Replaced, Grant? Stored) Replace(Grant next, GrantStatus expected)
    {
        using var batch = _state.DataSource.CreateBatch();
        var update = new NpgsqlBatchCommand($"""
            WITH changed AS (
                UPDATE wire_grants SET status = $1, decided_by = $2, decided_at = $3, expires_at = $4, ended_at = $5, note = $6, recording = $7
                WHERE id = $8 AND status = $9 RETURNING id)
            SELECT pg_notify('{Channel}', id) FROM changed
            """);
        AddState(update.Parameters, next);
        update.Parameters.AddWithValue(next.Id);
        update.Parameters.AddWithValue(GrantStatusNames.Name(expected));
        var read = new NpgsqlBatchCommand($"SELECT {Columns} FROM wire_grants WHERE id = $1");
        read.Parameters.AddWithValue(next.Id);
        batch.BatchCommands.Add(update);
        batch.BatchCommands.Add(read);
        using var reader = batch.ExecuteReader();
        bool replaced = reader.Read(); // a row from pg_notify: the UPDATE matched
        reader.NextResult();
        var stored = reader.Read() ? Read(reader) : null;
        return (replaced, stored);
    }

    private async Task RefreshAsync(string id)
    {
        if (_registry is not { } registry)
        {
            return;
        }
        try
        {
            await using var command = _state.DataSource.CreateCommand($"SELECT {Columns} FROM wire_grants WHERE id = $1");
            command.Parameters.AddWithValue(id);
            await using var reader = await command.ExecuteReaderAsync().ConfigureAwait(false);
            if (await reader.ReadAsync().ConfigureAwait(false))
            {
                registry.Apply(Read(reader));
            }
        }
        catch (Exception ex) when (IGrantStore.IsUnavailable(ex))
        {
            Log.RefreshFailed(Logger, id, ex.Message);
        }
    }

    private async Task ReloadAsync()
    {
        if (_registry is not { } registry)
        {
            return;
        }
        try
        {
            foreach (var grant in await Task.Run(Load).ConfigureAwait(false))
            {
                registry.Apply(grant);
            }
        }
        catch (Exception ex) when (IGrantStore.IsUnavailable(ex))
        {
            Log.RefreshFailed(Logger, "*", ex.Message);
        }
    }

    private static void AddState(NpgsqlParameterCollection p, Grant grant)
    {
        p.AddWithValue(GrantStatusNames.Name(grant.Status));
        p.AddWithValue((object?)grant.DecidedBy ?? DBNull.Value);
        p.AddWithValue(grant.DecidedAt is { } decided ? decided.ToUniversalTime() : DBNull.Value);
        p.AddWithValue(grant.ExpiresAt is { } expires ? expires.ToUniversalTime() : DBNull.Value);
        p.AddWithValue(grant.EndedAt is { } ended ? ended.ToUniversalTime() : DBNull.Value);
        p.AddWithValue((object?)grant.Note ?? DBNull.Value);
        p.AddWithValue((object?)grant.Recording ?? DBNull.Value);
    }

    private static Grant Read(NpgsqlDataReader r) =>
        new(r.GetString(0), new WireIdentity(r.GetString(1), r.GetFieldValue<string[]>(2), r.GetString(3)), r.GetString(4),
            TimeSpan.FromMilliseconds(r.GetInt64(5)), r.GetString(6), r.GetFieldValue<DateTimeOffset>(7))
        {
            Status = GrantStatusNames.Parse(r.GetString(8)),
            DecidedBy = r.IsDBNull(9) ? null : r.GetString(9),
            DecidedAt = r.IsDBNull(10) ? null : r.GetFieldValue<DateTimeOffset>(10),
            ExpiresAt = r.IsDBNull(11) ? null : r.GetFieldValue<DateTimeOffset>(11),
            EndedAt = r.IsDBNull(12) ? null : r.GetFieldValue<DateTimeOffset>(12),
            Note = r.IsDBNull(13) ? null : r.GetString(13),
            Recording = r.IsDBNull(14) ? null : r.GetString(14),
        };

    private static partial class Log
    {
        [LoggerMessage(6030, LogLevel.Warning, "Grant {Id}: a change made through another gateway instance could not be read ({Reason})")]
        public static partial void RefreshFailed(ILogger logger, string id, string reason);
    }
}
