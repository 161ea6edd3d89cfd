using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Npgsql;
using Wire.Enforcement.Approvals;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;

namespace Wire.Hosting.State;

/// <summary>
/// Reviews shared by every gateway instance on one PostgreSQL database: a request is a row of <c>wire_approvals</c>, any
/// instance's approval page lists and decides it, and the decision wakes the instance whose session waits (NOTIFY on
/// <c>wire_approvals</c>). A row is decided once (the first UPDATE of a pending row wins: approval, denial, timeout or
/// cancellation). When the database cannot be reached the review fails, and the statement does not run.
/// </summary>
internal sealed partial class PostgresApprovalBroker : IApprovalQueue
{
    private const string Channel = "wire_approvals";
    private static readonly TimeSpan CloseLimit = TimeSpan.FromSeconds(10);

    private readonly PostgresState _state;
    private readonly ConcurrentDictionary<string, Waiting> _waiting = new(StringComparer.Ordinal);

    public PostgresApprovalBroker(PostgresState state)
    {
        _state = state;
        state.Subscribe(Channel, id => _ = WakeAsync(id));
        state.Reconnected += () =>
        {
            foreach (var id in _waiting.Keys)
            {
                _ = WakeAsync(id);
            }
        };
    }

    public async ValueTask<ApprovalDecision> RequestAsync(ApprovalRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var waiting = new Waiting();
        if (!_waiting.TryAdd(request.Id, waiting))
        {
            throw new InvalidOperationException($"an approval request with id '{request.Id}' is already pending");
        }
        try
        {
            await InsertAsync(request, cancellationToken).ConfigureAwait(false);
            using var timeout = new CancellationTokenSource(request.Timeout);
            using var ended = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken, waiting.Aborted.Token);
            try
            {
                return await waiting.Decision.Task.WaitAsync(ended.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ended.IsCancellationRequested)
            {
                bool cancelled = cancellationToken.IsCancellationRequested || waiting.Aborted.IsCancellationRequested;
                var outcome = cancelled ? ApprovalOutcome.Cancelled : ApprovalOutcome.TimedOut;
                return await CloseAsync(request.Id, new ApprovalDecision(outcome, null, waiting.AbortReason)).ConfigureAwait(false);
            }
        }
        finally
        {
            _waiting.TryRemove(request.Id, out _);
        }
    }

    public async ValueTask<IReadOnlyList<ApprovalRequest>> ListPendingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _state.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand("""
            SELECT id, subject, groups, method, protocol, target, session, text, rule, approvers, timeout_ms, requested_at
            FROM wire_approvals WHERE outcome IS NULL AND expires_at > now() ORDER BY requested_at
            """, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var pending = new List<ApprovalRequest>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            pending.Add(new ApprovalRequest
            {
                Id = reader.GetString(0),
                Identity = new WireIdentity(reader.GetString(1), reader.GetFieldValue<string[]>(2), reader.GetString(3)),
                Protocol = Enum.Parse<WireProtocol>(reader.GetString(4)),
                Target = reader.GetString(5),
                SessionId = reader.GetString(6),
                Text = reader.GetString(7),
                Rule = reader.GetString(8),
                Approvers = reader.GetFieldValue<string[]>(9),
                Timeout = TimeSpan.FromMilliseconds(reader.GetInt64(10)),
                RequestedAt = reader.GetFieldValue<DateTimeOffset>(11),
            });
        }
        return pending;
    }

    public async ValueTask<ApprovalResult> DecideAsync(string id, WireIdentity approver, bool approve, string? reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(approver);
        await using var connection = await _state.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (var read = new NpgsqlCommand(
            "SELECT subject, approvers, outcome IS NULL AND expires_at > now() FROM wire_approvals WHERE id = $1", connection))
        {
            read.Parameters.AddWithValue(id);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return ApprovalResult.NotFound;
            }
            if (!reader.GetBoolean(2))
            {
                return ApprovalResult.NoLongerPending;
            }
            if (string.Equals(reader.GetString(0), approver.Subject, StringComparison.Ordinal))
            {
                return ApprovalResult.OwnRequest;
            }
            if (!reader.GetFieldValue<string[]>(1).Any(approver.IsInGroup))
            {
                return ApprovalResult.NotAnApprover;
            }
        }
        // The first decision of a pending row wins, and its NOTIFY goes out when it commits.
        await using var decide = new NpgsqlCommand("""
            WITH decided AS (
                UPDATE wire_approvals SET outcome = $2, approver = $3, reason = $4, decided_at = now()
                WHERE id = $1 AND outcome IS NULL AND expires_at > now() RETURNING id)
            SELECT pg_notify('wire_approvals', id) FROM decided
            """, connection);
        decide.Parameters.AddWithValue(id);
        decide.Parameters.AddWithValue(approve ? Approved : Denied);
        decide.Parameters.AddWithValue(approver.Subject);
        decide.Parameters.AddWithValue((object?)reason ?? DBNull.Value);
        await using var result = await decide.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await result.ReadAsync(cancellationToken).ConfigureAwait(false) ? ApprovalResult.Decided : ApprovalResult.NoLongerPending;
    }

    public int CancelAll(string reason)
    {
        int cancelled = 0;
        foreach (var waiting in _waiting.Values)
        {
            if (!waiting.Aborted.IsCancellationRequested)
            {
                waiting.AbortReason = reason;
                waiting.Aborted.Cancel();
                cancelled++;
            }
        }
        return cancelled;
    }

    private const string Approved = "approved";
    private const string Denied = "denied";

    private static string OutcomeName(ApprovalOutcome outcome) => outcome switch
    {
        ApprovalOutcome.Approved => Approved,
        ApprovalOutcome.Denied => Denied,
        ApprovalOutcome.TimedOut => "timed_out",
        _ => "cancelled",
    };

    private static ApprovalOutcome Outcome(string name) => name switch
    {
        Approved => ApprovalOutcome.Approved,
        Denied => ApprovalOutcome.Denied,
        "timed_out" => ApprovalOutcome.TimedOut,
        _ => ApprovalOutcome.Cancelled,
    };

    private async Task InsertAsync(ApprovalRequest request, CancellationToken ct)
    {
        await using var connection = await _state.OpenAsync(ct).ConfigureAwait(false);
        await using var insert = new NpgsqlCommand("""
            INSERT INTO wire_approvals (id, subject, groups, method, protocol, target, session, text, rule, approvers, timeout_ms,
                requested_at, expires_at, instance)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12 + $11 * interval '1 millisecond', $13)
            """, connection);
        var requestedAt = request.RequestedAt == default ? DateTimeOffset.UtcNow : request.RequestedAt;
        insert.Parameters.AddWithValue(request.Id);
        insert.Parameters.AddWithValue(request.Identity.Subject);
        insert.Parameters.AddWithValue(request.Identity.Groups.ToArray());
        insert.Parameters.AddWithValue(request.Identity.Method);
        insert.Parameters.AddWithValue(request.Protocol.ToString());
        insert.Parameters.AddWithValue(request.Target);
        insert.Parameters.AddWithValue(request.SessionId);
        insert.Parameters.AddWithValue(request.Text);
        insert.Parameters.AddWithValue(request.Rule);
        insert.Parameters.AddWithValue(request.Approvers.ToArray());
        insert.Parameters.AddWithValue((long)request.Timeout.TotalMilliseconds);
        insert.Parameters.AddWithValue(requestedAt.ToUniversalTime());
        insert.Parameters.AddWithValue(_state.Instance);
        await insert.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Ends a request this instance gave up on; when someone decided it first, their decision stands.</summary>
    private async Task<ApprovalDecision> CloseAsync(string id, ApprovalDecision closing)
    {
        try
        {
            using var limit = new CancellationTokenSource(CloseLimit);
            await using var connection = await _state.OpenAsync(limit.Token).ConfigureAwait(false);
            await using var close = new NpgsqlCommand("""
                UPDATE wire_approvals SET outcome = $2, reason = $3, decided_at = now() WHERE id = $1 AND outcome IS NULL
                """, connection);
            close.Parameters.AddWithValue(id);
            close.Parameters.AddWithValue(OutcomeName(closing.Outcome));
            close.Parameters.AddWithValue((object?)closing.Reason ?? DBNull.Value);
            if (await close.ExecuteNonQueryAsync(limit.Token).ConfigureAwait(false) == 1)
            {
                return closing;
            }
            return await ReadDecisionAsync(id, limit.Token).ConfigureAwait(false) ?? closing;
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException)
        {
            // The row stays pending until it expires, so nobody can approve it after this instance gave up: never run late.
            Log.CloseFailed(Logger, id, ex.Message);
            return closing;
        }
    }

    private async Task<ApprovalDecision?> ReadDecisionAsync(string id, CancellationToken ct)
    {
        await using var connection = await _state.OpenAsync(ct).ConfigureAwait(false);
        await using var read = new NpgsqlCommand("SELECT outcome, approver, reason FROM wire_approvals WHERE id = $1 AND outcome IS NOT NULL", connection);
        read.Parameters.AddWithValue(id);
        await using var reader = await read.ExecuteReaderAsync(ct).ConfigureAwait(false);
        if (!await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            return null;
        }
        return new ApprovalDecision(Outcome(reader.GetString(0)), reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2));
    }

    /// <summary>A NOTIFY (or a reconnect) says request <paramref name="id"/> may be decided: release its session if it waits here.</summary>
    private async Task WakeAsync(string id)
    {
        if (!_waiting.TryGetValue(id, out var waiting))
        {
            return; // another instance's session
        }
        try
        {
            using var limit = new CancellationTokenSource(CloseLimit);
            if (await ReadDecisionAsync(id, limit.Token).ConfigureAwait(false) is { } decision)
            {
                waiting.Decision.TrySetResult(decision);
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException)
        {
            // Read again on the next notification or reconnect; the session's own timeout still bounds its wait.
            Log.WakeFailed(Logger, id, ex.Message);
        }
    }

    private ILogger Logger => _state.LoggerFactory.CreateLogger("Wire.Approvals");

    private sealed class Waiting
    {
        public TaskCompletionSource<ApprovalDecision> Decision { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public CancellationTokenSource Aborted { get; } = new();

        public string? AbortReason { get; set; }
    }

    private static partial class Log
    {
        [LoggerMessage(6010, LogLevel.Warning, "Review {Id}: could not be closed in the shared state ({Reason}); it stays pending until it expires")]
        public static partial void CloseFailed(ILogger logger, string id, string reason);

        [LoggerMessage(6011, LogLevel.Warning, "Review {Id}: its decision could not be read ({Reason})")]
        public static partial void WakeFailed(ILogger logger, string id, string reason);
    }
}
