using Npgsql;
using Wire.Enforcement;
using Wire.Enforcement.Approvals;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Recording;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Postgres.Tests.Proxy;

namespace Wire.Postgres.Tests.Enforcement;

/// <summary>Wire with the example rules in front of the fixture server, an in-memory broker, and a direct connection for checks.</summary>
internal sealed class EnforcementHarness : IAsyncDisposable
{
    public static readonly WireIdentity Dba = new("dan", ["dba"], "static-token");

    private EnforcementHarness(PostgresFixture fixture, WireProxyHarness wire, InMemoryApprovalBroker broker, RuleSetProvider rules)
    {
        Fixture = fixture;
        Wire = wire;
        Broker = broker;
        Rules = rules;
    }

    public PostgresFixture Fixture { get; }

    public WireProxyHarness Wire { get; }

    public InMemoryApprovalBroker Broker { get; }

    public RuleSetProvider Rules { get; }

    public static RuleSet ExampleRules(TimeSpan? reviewTimeout = null) => RuleSet.Create(
    [
        new RuleDefinition { Name = "no-drop", Action = PolicyAction.Deny, Statements = [StatementKind.Drop, StatementKind.Truncate], Message = "not in prod" },
        new RuleDefinition
        {
            Name = "unbounded-dml", Action = PolicyAction.Review, Statements = [StatementKind.Delete, StatementKind.Update], NoWhere = true,
            Approvers = ["dba"], Timeout = reviewTimeout ?? TimeSpan.FromMinutes(1),
        },
        new RuleDefinition { Name = "ops-only", Action = PolicyAction.Deny, Groups = ["contractors"], Relations = ["public.payroll*"] },
    ]);

    public static EnforcementHarness Start(PostgresFixture fixture, RuleSet? rules = null, ISessionRecorderFactory? recorder = null)
    {
        var broker = new InMemoryApprovalBroker();
        var provider = new RuleSetProvider(rules ?? ExampleRules());
        var wire = WireProxyHarness.Start(fixture, enforcement: new WireEnforcement { Rules = provider, Approvals = broker, Recorder = recorder });
        return new EnforcementHarness(fixture, wire, broker, provider);
    }

    /// <summary>Runs SQL on the server directly (as the superuser), for setup and for checking what really happened.</summary>
    public async Task<object?> DirectScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(Fixture.ConnectionString(Fixture.SuperUser, "", PostgresFixture.Database));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    /// <summary>A fresh table name with a few rows, owned by the role Wire logs in as.</summary>
    public async Task<string> CreateTableAsync(int rows = 3, string prefix = "t_")
    {
        string name = prefix + Guid.NewGuid().ToString("n")[..12];
        await DirectScalarAsync($"CREATE TABLE public.{name} (id int primary key, v text); ALTER TABLE public.{name} OWNER TO {PostgresFixture.ScramUser}; " +
            $"INSERT INTO public.{name} SELECT g, 'v' || g FROM generate_series(1, {rows}) g");
        return name;
    }

    public async Task<long> CountAsync(string table) => (long)(await DirectScalarAsync($"SELECT count(*) FROM public.{table}"))!;

    public async Task<bool> ExistsAsync(string table) => (bool)(await DirectScalarAsync($"SELECT to_regclass('public.{table}') IS NOT NULL"))!;

    /// <summary>Waits (bounded) until a review is pending and returns it.</summary>
    public async Task<ApprovalRequest> WaitForReviewAsync()
    {
        for (int i = 0; i < 200; i++)
        {
            if (Broker.PendingRequests is [var request, ..])
            {
                return request;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException("no review became pending within 10 s");
    }

    public ValueTask DisposeAsync() => Wire.DisposeAsync();
}
