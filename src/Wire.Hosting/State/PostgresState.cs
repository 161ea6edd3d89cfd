using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Wire.Hosting.State;

/// <summary>
/// What several gateway instances share through one PostgreSQL database (<c>state.postgres</c>): the tables, created on
/// first start, and one listening connection per instance on which NOTIFY wakes it (a decided review, a cancel request
/// that reached another instance). The listener reconnects after a failure and then tells its subscribers, which re-read
/// what they may have missed.
/// </summary>
internal sealed partial class PostgresState : IAsyncDisposable
{
    private const long SchemaLock = 0x5769_7265_5374_6174; // "WireStat": one instance creates the tables at a time

    private readonly NpgsqlDataSource _dataSource;
    private ILogger _logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    private readonly ConcurrentDictionary<string, Action<string>> _channels = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _listener;
    private Task? _heartbeat;

    /// <summary>How often an instance says it is alive; what other instances list of it is dropped after <see cref="InstanceLifetime"/> without.</summary>
    public static TimeSpan HeartbeatInterval { get; } = TimeSpan.FromSeconds(5);

    /// <summary>How long an instance counts as alive after its last heartbeat (as an SQL interval).</summary>
    public const string InstanceLifetime = "30 seconds";

    public PostgresState(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "wire-state" };
        _dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
    }

    /// <summary>Where the state and its users log (the host's logging exists only once the host is built).</summary>
    public ILoggerFactory LoggerFactory
    {
        get;
        set
        {
            field = value;
            _logger = value.CreateLogger("Wire.State");
        }
    } = Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance;

    /// <summary>This process among the instances sharing the state.</summary>
    public string Instance { get; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>Raised after the listening connection was lost and is back: notifications may have been missed.</summary>
    public event Action? Reconnected;

    /// <summary>Runs <paramref name="work"/> after each heartbeat (its failure is logged like the heartbeat's).</summary>
    public void OnHeartbeat(Func<CancellationToken, Task> work) => _beats.Add(work);

    private readonly List<Func<CancellationToken, Task>> _beats = [];

    /// <summary>Calls <paramref name="handler"/> with the payload of every NOTIFY on <paramref name="channel"/>.</summary>
    public void Subscribe(string channel, Action<string> handler) => _channels[channel] = handler;

    /// <summary>Creates the tables if they are missing and starts listening; fails (stopping the start) when the database cannot be reached.</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        await using (var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false))
        await using (var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false))
        {
            await using var create = new NpgsqlCommand($"""
                SELECT pg_advisory_xact_lock({SchemaLock});
                CREATE TABLE IF NOT EXISTS wire_approvals (
                    id text PRIMARY KEY,
                    subject text NOT NULL,
                    groups text[] NOT NULL,
                    method text NOT NULL,
                    protocol text NOT NULL,
                    target text NOT NULL,
                    session text NOT NULL,
                    text text NOT NULL,
                    rule text NOT NULL,
                    approvers text[] NOT NULL,
                    timeout_ms bigint NOT NULL,
                    requested_at timestamptz NOT NULL,
                    expires_at timestamptz NOT NULL,
                    instance text NOT NULL,
                    outcome text,
                    approver text,
                    reason text,
                    decided_at timestamptz);
                CREATE INDEX IF NOT EXISTS wire_approvals_pending ON wire_approvals (requested_at) WHERE outcome IS NULL;
                DELETE FROM wire_approvals WHERE expires_at < now() - interval '7 days';
                CREATE TABLE IF NOT EXISTS wire_instances (instance text PRIMARY KEY, seen timestamptz NOT NULL);
                {PostgresSessionDirectory.Schema}
                DELETE FROM wire_sessions WHERE instance IN (SELECT instance FROM wire_instances WHERE seen < now() - interval '2 minutes');
                DELETE FROM wire_instances WHERE seen < now() - interval '2 minutes';
                {PostgresRecordingStore.Schema}
                {PostgresGrantStore.Schema}
                """, connection, transaction);
            await create.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            await using var join = new NpgsqlCommand(Beat, connection, transaction);
            join.Parameters.AddWithValue(Instance);
            await join.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            await transaction.CommitAsync(ct).ConfigureAwait(false);
        }
        _listener = ListenAsync(_stopping.Token);
        _heartbeat = HeartbeatAsync(_stopping.Token);
        await _listening.Task.WaitAsync(TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        Log.Started(_logger, Instance);
    }

    /// <summary>The pool of connections to the shared database.</summary>
    public NpgsqlDataSource DataSource => _dataSource;

    /// <summary>A connection from the pool, for one unit of work.</summary>
    public ValueTask<NpgsqlConnection> OpenAsync(CancellationToken ct) => _dataSource.OpenConnectionAsync(ct);

    /// <summary>Sends <paramref name="payload"/> to every instance listening on <paramref name="channel"/>, this one included.</summary>
    public async Task NotifyAsync(string channel, string payload, CancellationToken ct)
    {
        await using var command = _dataSource.CreateCommand("SELECT pg_notify($1, $2)");
        command.Parameters.AddWithValue(channel);
        command.Parameters.AddWithValue(payload);
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private async Task ListenAsync(CancellationToken ct)
    {
        bool reconnecting = false;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
                connection.Notification += (_, e) => Dispatch(e.Channel, e.Payload);
                foreach (var channel in _channels.Keys)
                {
                    // Channel names are Wire's own constants, never input.
                    await using var listen = new NpgsqlCommand($"LISTEN {channel}", connection);
                    await listen.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }
                _listening.TrySetResult();
                if (reconnecting)
                {
                    Log.Reconnected(_logger);
                    Reconnected?.Invoke();
                }
                while (true)
                {
                    await connection.WaitAsync(ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException or IOException or TimeoutException)
            {
                Log.ListenFailed(_logger, ex.Message);
                reconnecting = true;
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private const string Beat = "INSERT INTO wire_instances VALUES ($1, now()) ON CONFLICT (instance) DO UPDATE SET seen = now()";

    private async Task HeartbeatAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(HeartbeatInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                try
                {
                    await using var beat = _dataSource.CreateCommand(Beat);
                    beat.Parameters.AddWithValue(Instance);
                    await beat.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                    foreach (var work in _beats)
                    {
                        await work(ct).ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (ex is NpgsqlException or System.Net.Sockets.SocketException or IOException or TimeoutException)
                {
                    Log.HeartbeatFailed(_logger, ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    private void Dispatch(string channel, string payload)
    {
        if (_channels.TryGetValue(channel, out var handler))
        {
            try
            {
                handler(payload);
            }
            catch (Exception ex)
            {
                Log.HandlerFailed(_logger, channel, ex);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_listener is not null)
        {
            await _listener.ConfigureAwait(false);
        }
        if (_heartbeat is not null)
        {
            await _heartbeat.ConfigureAwait(false);
            // This instance's sessions are over: nobody lists them any longer.
            try
            {
                using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await using var leave = _dataSource.CreateBatch();
                foreach (var table in (string[])["wire_sessions", "wire_instances"])
                {
                    var command = new NpgsqlBatchCommand($"DELETE FROM {table} WHERE instance = $1");
                    command.Parameters.AddWithValue(Instance);
                    leave.BatchCommands.Add(command);
                }
                await leave.ExecuteNonQueryAsync(limit.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or System.Net.Sockets.SocketException or IOException)
            {
                Log.HeartbeatFailed(_logger, ex.Message); // the rows age out with the heartbeat
            }
        }
        _stopping.Dispose();
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(6001, LogLevel.Information, "Shared state in PostgreSQL: this instance is {Instance}")]
        public static partial void Started(ILogger logger, string instance);

        [LoggerMessage(6002, LogLevel.Warning, "Shared state: the listening connection failed ({Reason}); reconnecting")]
        public static partial void ListenFailed(ILogger logger, string reason);

        [LoggerMessage(6003, LogLevel.Information, "Shared state: listening again")]
        public static partial void Reconnected(ILogger logger);

        [LoggerMessage(6005, LogLevel.Warning, "Shared state: this instance's heartbeat failed ({Reason})")]
        public static partial void HeartbeatFailed(ILogger logger, string reason);

        [LoggerMessage(6004, LogLevel.Error, "Shared state: the handler of channel {Channel} failed")]
        public static partial void HandlerFailed(ILogger logger, string channel, Exception exception);
    }
}
