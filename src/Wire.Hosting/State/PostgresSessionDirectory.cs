using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Npgsql;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Sessions;

namespace Wire.Hosting.State;

/// <summary>
/// One live session as every instance sees it. Its byte and command counts are live where it runs (<see cref="Local"/>),
/// and as of its instance's last heartbeat elsewhere.
/// </summary>
internal sealed record SharedSession(string Id, string? Instance, string Protocol, string Target, string Client, string Subject,
    IReadOnlyList<string> Groups, DateTimeOffset Started, LiveSession? Local)
{
    /// <summary>A session of this process, on <paramref name="instance"/> (null without shared state).</summary>
    public static SharedSession Of(LiveSession session, string? instance) => new(session.Id, instance, WireProtocolNames.Name(session.Protocol),
        session.Target, session.Client, session.Identity.Subject, session.Identity.Groups, session.Started, session);

    /// <summary>Bytes from the client: live here, as last reported by its instance otherwise.</summary>
    public long BytesFromClient { get => Local?.BytesFromClient ?? field; init; }

    /// <summary>Bytes to the client.</summary>
    public long BytesToClient { get => Local?.BytesToClient ?? field; init; }

    /// <summary>Executions judged.</summary>
    public long Commands { get => Local?.Commands ?? field; init; }
}

/// <summary>
/// The live sessions of every gateway instance on one database: this instance's are mirrored into <c>wire_sessions</c> as
/// they start and end, any instance lists them (those of instances whose heartbeat stopped drop out), and ending one that
/// runs elsewhere is handed to its instance (NOTIFY on <c>wire_terminate</c>). The list is for operators: when the
/// database is unreachable sessions still run, and the list may lag.
/// </summary>
internal sealed partial class PostgresSessionDirectory
{
    private const string Channel = "wire_terminate";

    private readonly PostgresState _state;
    private readonly SessionRegistry _local;

    // Per session, its INSERT, so that its DELETE follows it even when the session ends at once.
    private readonly ConcurrentDictionary<string, Task> _mirrored = new(StringComparer.Ordinal);

    public PostgresSessionDirectory(PostgresState state, SessionRegistry local)
    {
        _state = state;
        _local = local;
        local.Added += session => _mirrored[session.Id] = MirrorAsync(session);
        local.Removed += session => _ = ForgetAsync(session);
        state.Subscribe(Channel, TerminateHere);
        state.OnHeartbeat(ReportCountsAsync);
    }

    /// <summary>The table, for <see cref="PostgresState"/>'s schema.</summary>
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS wire_sessions (
            id text NOT NULL,
            instance text NOT NULL,
            protocol text NOT NULL,
            target text NOT NULL,
            client text NOT NULL,
            subject text NOT NULL,
            groups text[] NOT NULL,
            started timestamptz NOT NULL,
            PRIMARY KEY (instance, id));
        ALTER TABLE wire_sessions ADD COLUMN IF NOT EXISTS bytes_from_client bigint NOT NULL DEFAULT 0;
        ALTER TABLE wire_sessions ADD COLUMN IF NOT EXISTS bytes_to_client bigint NOT NULL DEFAULT 0;
        ALTER TABLE wire_sessions ADD COLUMN IF NOT EXISTS commands bigint NOT NULL DEFAULT 0;
        """;

    /// <summary>With each heartbeat: this instance's sessions' counts, for the other instances' lists.</summary>
    private async Task ReportCountsAsync(CancellationToken ct)
    {
        var sessions = _local.Active;
        if (sessions.Count == 0)
        {
            return;
        }
        await using var command = _state.DataSource.CreateCommand("""
            UPDATE wire_sessions s SET bytes_from_client = u.f, bytes_to_client = u.t, commands = u.c
            FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) AS u(id, f, t, c)
            WHERE s.instance = $1 AND s.id = u.id
            """);
        command.Parameters.AddWithValue(_state.Instance);
        command.Parameters.AddWithValue(sessions.Select(s => s.Id).ToArray());
        command.Parameters.AddWithValue(sessions.Select(s => s.BytesFromClient).ToArray());
        command.Parameters.AddWithValue(sessions.Select(s => s.BytesToClient).ToArray());
        command.Parameters.AddWithValue(sessions.Select(s => s.Commands).ToArray());
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private ILogger Logger => _state.LoggerFactory.CreateLogger("Wire.Sessions");

    public async Task<IReadOnlyList<SharedSession>> ListAsync(CancellationToken ct)
    {
        await using var connection = await _state.OpenAsync(ct).ConfigureAwait(false);
        await using var list = new NpgsqlCommand($"""
            SELECT s.id, s.instance, s.protocol, s.target, s.client, s.subject, s.groups, s.started,
                   s.bytes_from_client, s.bytes_to_client, s.commands
            FROM wire_sessions s JOIN wire_instances i ON i.instance = s.instance
            WHERE i.seen > now() - interval '{PostgresState.InstanceLifetime}' ORDER BY s.started
            """, connection);
        await using var reader = await list.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var local = _local.Active.ToDictionary(s => s.Id, StringComparer.Ordinal);
        var sessions = new List<SharedSession>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            string id = reader.GetString(0), instance = reader.GetString(1);
            sessions.Add(new SharedSession(id, instance, reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5),
                reader.GetFieldValue<string[]>(6), reader.GetFieldValue<DateTimeOffset>(7),
                instance == _state.Instance ? local.GetValueOrDefault(id) : null)
            {
                BytesFromClient = reader.GetInt64(8),
                BytesToClient = reader.GetInt64(9),
                Commands = reader.GetInt64(10),
            });
        }
        return sessions;
    }

    /// <summary>Ends session <paramref name="id"/> wherever it runs; false when no live instance lists it.</summary>
    public async Task<bool> TerminateAsync(string id, string reason, CancellationToken ct)
    {
        if (_local.TryTerminate(id, reason))
        {
            return true;
        }
        var listed = (await ListAsync(ct).ConfigureAwait(false)).FirstOrDefault(s => s.Id == id && s.Instance != _state.Instance);
        if (listed is null)
        {
            return false;
        }
        await _state.NotifyAsync(Channel, $"{listed.Instance}\n{id}\n{reason}", ct).ConfigureAwait(false);
        return true;
    }

    private void TerminateHere(string payload)
    {
        var parts = payload.Split('\n', 3);
        if (parts.Length == 3 && parts[0] == _state.Instance && _local.TryTerminate(parts[1], parts[2]))
        {
            Log.TerminatedForAnother(Logger, parts[1]);
        }
    }

    private async Task MirrorAsync(LiveSession session)
    {
        try
        {
            await using var connection = await _state.OpenAsync(CancellationToken.None).ConfigureAwait(false);
            await using var insert = new NpgsqlCommand("""
                INSERT INTO wire_sessions (id, instance, protocol, target, client, subject, groups, started)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING
                """, connection);
            insert.Parameters.AddWithValue(session.Id);
            insert.Parameters.AddWithValue(_state.Instance);
            insert.Parameters.AddWithValue(WireProtocolNames.Name(session.Protocol));
            insert.Parameters.AddWithValue(session.Target);
            insert.Parameters.AddWithValue(session.Client);
            insert.Parameters.AddWithValue(session.Identity.Subject);
            insert.Parameters.AddWithValue(session.Identity.Groups.ToArray());
            insert.Parameters.AddWithValue(session.Started.ToUniversalTime());
            await insert.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException or IOException or TimeoutException)
        {
            Log.MirrorFailed(Logger, session.Id, ex.Message);
        }
    }

    private async Task ForgetAsync(LiveSession session)
    {
        if (_mirrored.TryRemove(session.Id, out var mirrored))
        {
            await mirrored.ConfigureAwait(false);
        }
        try
        {
            await using var connection = await _state.OpenAsync(CancellationToken.None).ConfigureAwait(false);
            await using var delete = new NpgsqlCommand("DELETE FROM wire_sessions WHERE instance = $1 AND id = $2", connection);
            delete.Parameters.AddWithValue(_state.Instance);
            delete.Parameters.AddWithValue(session.Id);
            await delete.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException or IOException or TimeoutException)
        {
            Log.MirrorFailed(Logger, session.Id, ex.Message); // the row goes with the instance's heartbeat
        }
    }

    private static partial class Log
    {
        [LoggerMessage(6020, LogLevel.Warning, "Session {Id}: the shared session list could not be updated ({Reason})")]
        public static partial void MirrorFailed(ILogger logger, string id, string reason);

        [LoggerMessage(6021, LogLevel.Information, "Session {Id} ended at another gateway instance's request")]
        public static partial void TerminatedForAnother(ILogger logger, string id);
    }
}
