using System.Text.RegularExpressions;
using Wire.Postgres.Tests.Infrastructure;

namespace Wire.Postgres.Tests.Proxy;

/// <summary>psql through Wire prints exactly what it prints against the server directly.</summary>
[Collection(PostgresCollection.Name)]
public sealed partial class PsqlThroughWireTests(PostgresFixture fixture)
{
    private static readonly string[] PsqlFlags = ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=0"];

    // Session-local objects only (temp tables), so the direct run and the Wire run cannot see each other.
    private const string Script = """"
        select 1 \; select 2;
        create temp table t_items (id int primary key, name text, price numeric(10,2));
        create temp table t_orders (id int, item_id int, qty int);
        insert into t_items values (1, 'apple', 1.25), (2, 'pear', 2.50), (3, 'fig, dried', 3.75);
        insert into t_orders select g, (g % 3) + 1, g from generate_series(1, 9) g;
        select o.id, i.name, o.qty * i.price from t_orders o join t_items i on i.id = o.item_id order by o.id;
        select g, md5(g::text) from generate_series(1, 10000) g;
        \copy t_items to stdout
        \copy t_items to stdout with (format csv, header)
        \copy t_items from stdin
        4	kiwi	0.99
        5	lime\twith tab	1.00
        \.
        \copy t_items from stdin with (format csv)
        6,"quoted, ""name""",2.00
        7,"line
        break",3.00
        \.
        select id, name, price from t_items order by id;
        \copy (select id, name from t_items where id > 3 order by id) to stdout with (format csv)
        listen wire_chan;
        notify wire_chan, 'hello through wire';
        select 'after notify';
        set datestyle = 'ISO, DMY';
        show datestyle;
        set work_mem = '7MB';
        show work_mem;
        select '2024-02-29 12:34:56+00'::timestamptz at time zone 'UTC';
        begin;
        insert into t_items values (100, 'ghost', 0);
        select count(*) from t_items;
        rollback;
        select count(*) from t_items;
        select 1/0;
        select 'still alive after error';
        begin;
        select no_such_column from t_items;
        select 'inside failed transaction';
        rollback;
        select length(repeat('x', 200000));
        select string_agg(g::text, ',') from generate_series(1, 3000) g;
        \echo done
        """";

    [Fact(Timeout = 120_000)]
    public async Task Script_output_through_wire_equals_direct_output()
    {
        await using var wire = WireProxyHarness.Start(fixture);

        var direct = await PgTools.RunAsync(
            PgTools.Psql,
            PsqlFlags,
            Script,
            PgTools.DirectEnvironment(fixture, PostgresFixture.ScramUser, fixture.ScramPassword, PostgresFixture.Database),
            TimeSpan.FromSeconds(60));
        var through = await wire.RunPsqlAsync(PsqlFlags, Script);

        // Sanity: the script did what it was meant to against the server itself.
        Assert.True(direct.ExitCode == 0, direct.ToString());
        Assert.Contains("hello through wire", direct.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("still alive after error", direct.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("division by zero", direct.StandardError, StringComparison.Ordinal);
        Assert.Contains("10000|b7a782741f667201b54880c925faec4b", direct.StandardOutput, StringComparison.Ordinal);

        Assert.True(through.ExitCode == 0, through + Environment.NewLine + wire.Logs);
        AssertSameText(Normalize(direct.StandardOutput), Normalize(through.StandardOutput), "stdout");
        AssertSameText(Normalize(direct.StandardError), Normalize(through.StandardError), "stderr");
    }

    [Fact(Timeout = 60_000)]
    public async Task Psql_command_option_runs_a_multi_statement_query()
    {
        await using var wire = WireProxyHarness.Start(fixture);

        var result = await wire.RunPsqlAsync(["-X", "-A", "-t", "-c", "select 1; select 'two'; select current_database()"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("1\ntwo\napp\n", result.StandardOutput);
    }

    [Fact(Timeout = 60_000)]
    public async Task Psql_reports_a_bad_token()
    {
        await using var wire = WireProxyHarness.Start(fixture);

        var result = await wire.RunPsqlAsync(["-X", "-A", "-t", "-c", "select 1"], env: new Dictionary<string, string> { ["PGPASSWORD"] = "wrong" });

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("authentication failed for user \"alice\"", result.StandardError, StringComparison.Ordinal);
    }

    // The notifying backend's PID differs between runs; nothing else may.
    private static string Normalize(string text) => PidPattern().Replace(text, "PID <pid>");

    private static void AssertSameText(string expected, string actual, string what)
    {
        if (string.Equals(expected, actual, StringComparison.Ordinal))
        {
            return;
        }

        var expectedLines = expected.Split('\n');
        var actualLines = actual.Split('\n');
        var first = 0;
        while (first < expectedLines.Length && first < actualLines.Length && expectedLines[first] == actualLines[first])
        {
            first++;
        }

        Assert.Fail(
            $"{what} differs at line {first + 1} (direct {expectedLines.Length} lines, through Wire {actualLines.Length} lines):{Environment.NewLine}" +
            $"direct:  {(first < expectedLines.Length ? expectedLines[first] : "<end>")}{Environment.NewLine}" +
            $"wire:    {(first < actualLines.Length ? actualLines[first] : "<end>")}");
    }

    [GeneratedRegex(@"PID \d+")]
    private static partial Regex PidPattern();
}
