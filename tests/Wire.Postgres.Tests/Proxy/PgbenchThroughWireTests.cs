using Wire.Postgres.Tests.Infrastructure;

namespace Wire.Postgres.Tests.Proxy;

/// <summary>pgbench (TPC-B-like) through Wire in each query mode: every transaction succeeds.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PgbenchThroughWireTests(PostgresFixture fixture)
{
    private const string BenchDatabase = "wire_bench";
    private static readonly SemaphoreSlim InitLock = new(1, 1);
    private static PostgresFixture? _initializedFor;

    [Theory(Timeout = 300_000)]
    [InlineData("simple")]
    [InlineData("extended")]
    [InlineData("prepared")]
    public async Task Pgbench_runs_without_failed_transactions(string mode)
    {
        await EnsureBenchDatabaseAsync();
        await using var wire = WireProxyHarness.Start(fixture, options =>
            options.Targets.Add(WireProxyHarness.Target(fixture, name: BenchDatabase, database: BenchDatabase)));

        var result = await wire.RunPgbenchAsync(
            ["-M", mode, "-c", "2", "-j", "2", "-t", "200", BenchDatabase],
            env: new Dictionary<string, string> { ["PGDATABASE"] = BenchDatabase },
            timeout: TimeSpan.FromSeconds(240));

        Assert.True(result.ExitCode == 0, result + Environment.NewLine + wire.Logs);
        Assert.Contains($"query mode: {mode}", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("number of transactions actually processed: 400/400", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("number of failed transactions: 0 ", result.StandardOutput, StringComparison.Ordinal);
    }

    // pgbench -i straight into a fresh database as the superuser, then hand the tables to the role Wire logs in as.
    private async Task EnsureBenchDatabaseAsync()
    {
        await InitLock.WaitAsync();
        try
        {
            if (ReferenceEquals(_initializedFor, fixture))
            {
                return;
            }

            await fixture.Server.PsqlAsync($"DROP DATABASE IF EXISTS {BenchDatabase}");
            await fixture.Server.PsqlAsync($"CREATE DATABASE {BenchDatabase} OWNER {PostgresFixture.ScramUser}");
            var init = await PgTools.RunAsync(
                PgTools.Pgbench,
                ["-i", "-s", "1", BenchDatabase],
                null,
                PgTools.DirectEnvironment(fixture, fixture.SuperUser, null, BenchDatabase),
                TimeSpan.FromSeconds(180));
            Assert.True(init.ExitCode == 0, init.ToString());
            await fixture.Server.PsqlAsync(
                $"""
                ALTER TABLE pgbench_accounts OWNER TO {PostgresFixture.ScramUser};
                ALTER TABLE pgbench_branches OWNER TO {PostgresFixture.ScramUser};
                ALTER TABLE pgbench_history OWNER TO {PostgresFixture.ScramUser};
                ALTER TABLE pgbench_tellers OWNER TO {PostgresFixture.ScramUser};
                """,
                BenchDatabase);
            _initializedFor = fixture;
        }
        finally
        {
            InitLock.Release();
        }
    }
}
