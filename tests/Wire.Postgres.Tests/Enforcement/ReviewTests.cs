using Npgsql;
using Wire.Enforcement.Approvals;
using Wire.Enforcement.Identity;
using Wire.Postgres.Tests.Infrastructure;

namespace Wire.Postgres.Tests.Enforcement;

/// <summary>Review: the execution waits (that session only) until approved, denied (42501), timed out or cancelled (57014).</summary>
[Collection(PostgresCollection.Name)]
public sealed class ReviewTests(PostgresFixture fixture)
{
    [Fact]
    public async Task An_approved_delete_runs_once_and_the_next_one_waits_again()
    {
        await using var h = EnforcementHarness.Start(fixture);
        string table = await h.CreateTableAsync();
        await using var connection = await h.Wire.OpenClientAsync();
        await using var delete = new NpgsqlCommand($"DELETE FROM {table}", connection);
        await delete.PrepareAsync();

        var running = delete.ExecuteNonQueryAsync();
        var request = await h.WaitForReviewAsync();
        Assert.Equal("alice", request.Identity.Subject);
        Assert.Equal("app", request.Target);
        Assert.Equal("unbounded-dml", request.Rule);
        Assert.Equal(["dba"], request.Approvers);
        Assert.Contains($"DELETE FROM {table}", request.Text, StringComparison.Ordinal);

        // Nothing else waits: another session works meanwhile, and this one's statement has not run.
        await using (var other = await h.Wire.OpenClientAsync())
        await using (var count = new NpgsqlCommand($"SELECT count(*) FROM {table}", other))
        {
            Assert.Equal(3L, await count.ExecuteScalarAsync());
        }
        Assert.False(running.IsCompleted);

        Assert.Equal(ApprovalResult.Decided, h.Broker.Approve(request.Id, EnforcementHarness.Dba));
        Assert.Equal(3, await running.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, await h.CountAsync(table));

        // One approval covers one execution.
        var again = delete.ExecuteNonQueryAsync();
        var second = await h.WaitForReviewAsync();
        Assert.NotEqual(request.Id, second.Id);
        h.Broker.Approve(second.Id, EnforcementHarness.Dba);
        Assert.Equal(0, await again.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_denied_review_is_42501_and_nothing_runs()
    {
        await using var h = EnforcementHarness.Start(fixture);
        string table = await h.CreateTableAsync();
        await using var connection = await h.Wire.OpenClientAsync();
        await using var update = new NpgsqlCommand($"UPDATE {table} SET v = 'changed'", connection);
        var running = update.ExecuteNonQueryAsync();
        var request = await h.WaitForReviewAsync();
        Assert.Equal(ApprovalResult.OwnRequest, h.Broker.Deny(request.Id, new WireIdentity("alice", ["dba"], "static-token")));
        Assert.Equal(ApprovalResult.Decided, h.Broker.Deny(request.Id, EnforcementHarness.Dba, "too broad"));
        var ex = await Assert.ThrowsAsync<PostgresException>(() => running.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("42501", ex.SqlState);
        Assert.Contains("review denied by dan: too broad", ex.MessageText, StringComparison.Ordinal);
        Assert.Equal(0L, await h.DirectScalarAsync($"SELECT count(*) FROM {table} WHERE v = 'changed'"));

        await using var select = new NpgsqlCommand("SELECT 7", connection);
        Assert.Equal(7, await select.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_review_times_out_with_57014()
    {
        await using var h = EnforcementHarness.Start(fixture, EnforcementHarness.ExampleRules(TimeSpan.FromMilliseconds(300)));
        string table = await h.CreateTableAsync();
        var result = await h.Wire.RunPsqlAsync(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=0", "-v", "VERBOSITY=verbose"], $"""
            WITH gone AS (DELETE FROM {table} RETURNING *) SELECT count(*) FROM gone;
            SELECT 'next';
            """);
        Assert.Contains("57014: wire: review by rule unbounded-dml timed out", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("next", result.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(3, await h.CountAsync(table));
    }

    [Fact]
    public async Task A_cancel_request_cancels_the_review()
    {
        await using var h = EnforcementHarness.Start(fixture);
        string table = await h.CreateTableAsync();
        await using var connection = await h.Wire.OpenClientAsync();
        await using var delete = new NpgsqlCommand($"DELETE FROM {table}", connection);
        var running = delete.ExecuteNonQueryAsync();
        await h.WaitForReviewAsync();
        delete.Cancel();
        // Npgsql reports a statement it cancelled as OperationCanceledException around the server's (here Wire's) 57014.
        var cancelled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running.WaitAsync(TimeSpan.FromSeconds(30)));
        var ex = Assert.IsType<PostgresException>(cancelled.InnerException);
        Assert.Equal("57014", ex.SqlState);
        Assert.Contains("cancelled", ex.MessageText, StringComparison.Ordinal);
        Assert.Empty(h.Broker.PendingRequests);
        Assert.Equal(3, await h.CountAsync(table));

        await using var select = new NpgsqlCommand("SELECT 8", connection);
        Assert.Equal(8, await select.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Explain_analyze_is_reviewed_like_the_statement_it_runs()
    {
        await using var h = EnforcementHarness.Start(fixture, EnforcementHarness.ExampleRules(TimeSpan.FromMilliseconds(200)));
        string table = await h.CreateTableAsync();
        var result = await h.Wire.RunPsqlAsync(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=0"], $"""
            EXPLAIN DELETE FROM {table};
            EXPLAIN (ANALYZE, COSTS off) DELETE FROM {table};
            """);
        Assert.Contains("Delete on", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("timed out", result.StandardError, StringComparison.Ordinal);
        Assert.Equal(3, await h.CountAsync(table));
    }
}
