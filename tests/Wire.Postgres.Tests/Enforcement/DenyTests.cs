using Npgsql;
using Wire.Enforcement.Policy;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Postgres.Tests.Proxy;

namespace Wire.Postgres.Tests.Enforcement;

/// <summary>Deny (DESIGN.md §4: 42501 naming the rule, session kept, transaction state the server's), with real clients.</summary>
[Collection(PostgresCollection.Name)]
public sealed class DenyTests(PostgresFixture fixture)
{
    private static readonly string[] PsqlFlags = ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=0"];

    [Fact]
    public async Task Psql_drop_is_denied_with_42501_and_the_session_goes_on()
    {
        await using var h = EnforcementHarness.Start(fixture);
        string table = await h.CreateTableAsync();
        var result = await h.Wire.RunPsqlAsync([.. PsqlFlags, "-v", "VERBOSITY=verbose"], $"""
            DROP TABLE {table};
            dRoP /* a comment */ TaBlE "public".{table};
            -- a comment first
            TRUNCATE {table};
            SELECT 'still here';
            """);
        Assert.Contains("ERROR:  42501: wire: denied by rule no-drop: not in prod", result.StandardError, StringComparison.Ordinal);
        Assert.Equal(3, CountOccurrences(result.StandardError, "42501"));
        Assert.Contains("still here", result.StandardOutput, StringComparison.Ordinal);
        Assert.True(await h.ExistsAsync(table));
        Assert.Equal(3, await h.CountAsync(table));
    }

    [Fact]
    public async Task A_query_holding_a_denied_statement_is_denied_whole()
    {
        await using var h = EnforcementHarness.Start(fixture);
        string table = await h.CreateTableAsync(rows: 0);
        var result = await h.Wire.RunPsqlAsync(PsqlFlags, $"INSERT INTO {table} VALUES (1, 'x') \\; DROP TABLE {table} \\; SELECT 'after';\n");
        Assert.Contains("denied by rule no-drop", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("after", result.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(0, await h.CountAsync(table));
    }

    [Fact]
    public async Task Begin_denied_commit_answers_rollback()
    {
        await using var h = EnforcementHarness.Start(fixture);
        string table = await h.CreateTableAsync(rows: 0);
        var result = await h.Wire.RunPsqlAsync(["-X", "-v", "ON_ERROR_STOP=0"], $"""
            BEGIN;
            INSERT INTO {table} VALUES (1, 'x');
            DROP TABLE {table};
            COMMIT;
            """);
        Assert.Contains("denied by rule no-drop", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("ROLLBACK", result.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(0, await h.CountAsync(table));
    }

    [Fact]
    public async Task Npgsql_extended_protocol_denial_keeps_the_connection()
    {
        await using var h = EnforcementHarness.Start(fixture);
        string table = await h.CreateTableAsync();
        await using var connection = await h.Wire.OpenClientAsync();
        await using (var drop = new NpgsqlCommand($"DROP TABLE {table}", connection))
        {
            var ex = await Assert.ThrowsAsync<PostgresException>(() => drop.ExecuteNonQueryAsync());
            Assert.Equal("42501", ex.SqlState);
            Assert.Equal("wire: denied by rule no-drop: not in prod", ex.MessageText);
        }

        // Prepared (named statement), executed twice: denied each time.
        await using (var prepared = new NpgsqlCommand($"TRUNCATE {table}", connection))
        {
            await prepared.PrepareAsync();
            for (int i = 0; i < 2; i++)
            {
                var ex = await Assert.ThrowsAsync<PostgresException>(() => prepared.ExecuteNonQueryAsync());
                Assert.Equal("42501", ex.SqlState);
            }
        }

        await using var select = new NpgsqlCommand($"SELECT count(*) FROM {table} WHERE id > @p", connection);
        select.Parameters.AddWithValue("p", 0);
        Assert.Equal(3L, await select.ExecuteScalarAsync());
        Assert.True(await h.ExistsAsync(table));
    }

    [Fact]
    public async Task Pipelined_insert_then_denied_then_sync_leaves_no_row()
    {
        await using var h = EnforcementHarness.Start(fixture);
        string table = await h.CreateTableAsync(rows: 0);
        await using var connection = await h.Wire.OpenClientAsync();
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand($"INSERT INTO {table} VALUES (1, 'x')"),
                new NpgsqlBatchCommand($"DROP TABLE {table}"),
                new NpgsqlBatchCommand("SELECT 1"),
            },
        };
        var ex = await Assert.ThrowsAsync<PostgresException>(() => batch.ExecuteNonQueryAsync());
        Assert.Equal("42501", ex.SqlState);
        Assert.Equal(0, await h.CountAsync(table));
        Assert.True(await h.ExistsAsync(table));

        // The connection is in sync: the next batch runs.
        await using var next = new NpgsqlCommand($"INSERT INTO {table} VALUES (2, 'y')", connection);
        Assert.Equal(1, await next.ExecuteNonQueryAsync());
        Assert.Equal(1, await h.CountAsync(table));
    }

    [Fact]
    public async Task Prepare_and_execute_are_judged_by_the_statement_they_run()
    {
        await using var h = EnforcementHarness.Start(fixture, RuleSet.Create(
            [new RuleDefinition { Name = "no-delete", Action = PolicyAction.Deny, Statements = [StatementKind.Delete] }]));
        string table = await h.CreateTableAsync();
        var result = await h.Wire.RunPsqlAsync(PsqlFlags, $"""
            PREPARE d AS DELETE FROM {table} WHERE id = $1;
            PREPARE q AS SELECT count(*) FROM {table};
            EXECUTE q;
            EXECUTE d(1);
            explain analyze execute d(2);
            DEALLOCATE d;
            PREPARE d AS SELECT 'redefined';
            EXECUTE d;
            """);
        Assert.Equal(2, CountOccurrences(result.StandardError, "denied by rule no-delete"));
        Assert.Contains("3", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("redefined", result.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(3, await h.CountAsync(table));
    }

    [Fact]
    public async Task Standard_conforming_strings_off_cannot_hide_a_drop()
    {
        await using var h = EnforcementHarness.Start(fixture);
        string table = await h.CreateTableAsync();
        var result = await h.Wire.RunPsqlAsync(PsqlFlags, $"""
            SET standard_conforming_strings = off;
            SELECT 'x\''; DROP TABLE {table}; --';
            SELECT 'alive';
            """);
        Assert.Contains("denied by rule no-drop", result.StandardError, StringComparison.Ordinal);
        Assert.Contains("alive", result.StandardOutput, StringComparison.Ordinal);
        Assert.True(await h.ExistsAsync(table));
    }

    [Fact]
    public async Task Relations_rule_applies_to_its_group_only()
    {
        await using var h = EnforcementHarness.Start(fixture, RuleSet.Create(
        [
            new RuleDefinition { Name = "no-payroll", Action = PolicyAction.Deny, Groups = ["eng"], Relations = ["public.payroll*"] },
        ]));
        string payroll = await h.CreateTableAsync(prefix: "payroll_");
        await using var connection = await h.Wire.OpenClientAsync();
        await using var command = new NpgsqlCommand($"SELECT * FROM (SELECT 1) s JOIN {payroll} p ON true", connection);
        var ex = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
        Assert.Equal("42501", ex.SqlState);
        Assert.Contains("no-payroll", ex.MessageText, StringComparison.Ordinal);
        await using var other = new NpgsqlCommand("SELECT count(*) FROM pg_class WHERE relname LIKE 'payroll%'", connection);
        Assert.True((long)(await other.ExecuteScalarAsync())! >= 1);
    }

    [Fact]
    public async Task Rules_reload_without_dropping_the_session()
    {
        await using var h = EnforcementHarness.Start(fixture, RuleSet.Create([]));
        await using var connection = await h.Wire.OpenClientAsync();
        await using var command = new NpgsqlCommand("SELECT 42", connection);
        Assert.Equal(42, await command.ExecuteScalarAsync());

        h.Rules.Update(RuleSet.Create([new RuleDefinition { Name = "no-select", Action = PolicyAction.Deny, Statements = [StatementKind.Select] }]));
        var ex = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteScalarAsync());
        Assert.Equal("wire: denied by rule no-select", ex.MessageText);

        h.Rules.Update(RuleSet.Create([]));
        Assert.Equal(42, await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Default_deny_refuses_what_no_rule_allows()
    {
        await using var h = EnforcementHarness.Start(fixture, RuleSet.Create(
            [new RuleDefinition { Name = "reads", Action = PolicyAction.Allow, Statements = [StatementKind.Select] }], PolicyAction.Deny));
        string table = await h.CreateTableAsync(rows: 0);
        await using var connection = await h.Wire.OpenClientAsync();
        await using var select = new NpgsqlCommand("SELECT 1", connection);
        Assert.Equal(1, await select.ExecuteScalarAsync());
        await using var insert = new NpgsqlCommand($"INSERT INTO {table} VALUES (1, 'x')", connection);
        var ex = await Assert.ThrowsAsync<PostgresException>(() => insert.ExecuteNonQueryAsync());
        Assert.Equal("42501", ex.SqlState);
        Assert.Equal(0, await h.CountAsync(table));
    }

    [Fact]
    public async Task An_unsafe_client_encoding_ends_the_session()
    {
        await using var h = EnforcementHarness.Start(fixture);
        var result = await h.Wire.RunPsqlAsync(PsqlFlags, "SET client_encoding = 'SJIS';\nSELECT 'unreachable';\n");
        Assert.Contains("not supported through Wire", result.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("unreachable", result.StandardOutput, StringComparison.Ordinal);

        var refused = await h.Wire.RunPsqlAsync(PsqlFlags, "SELECT 1;\n", new Dictionary<string, string> { ["PGCLIENTENCODING"] = "BIG5" });
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("client_encoding BIG5 is not supported through Wire", refused.StandardError, StringComparison.Ordinal);
    }

    private static int CountOccurrences(string text, string value)
    {
        int count = 0;
        for (int i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + value.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }
}
