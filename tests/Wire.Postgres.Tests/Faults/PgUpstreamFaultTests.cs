using System.Diagnostics;
using Npgsql;
using Wire.Enforcement;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Postgres.Tests.Proxy;

namespace Wire.Postgres.Tests.Faults;

/// <summary>
/// The upstream fails under a session (DESIGN.md §4, "upstream unreachable": 08006 or the connection closed with a clear
/// error): its backend is killed or its connection reset while a large result streams, or it stalls at connect or at
/// login. Every client learns of it within bounded time, Wire logs it, and other sessions go on.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PgUpstreamFaultTests(PostgresFixture fixture)
{
    private const string BigResult = "SELECT g, repeat('x', 100) FROM generate_series(1, 5000000) g";

    private static WireEnforcement? Pumps(bool enforcing) => enforcing ? new WireEnforcement() : null;

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_backend_terminated_while_a_large_result_streams_fails_that_client_with_its_error_only(bool enforcing)
    {
        string app = "fault-kill-" + Guid.NewGuid().ToString("N")[..8];
        await using var wire = WireProxyHarness.Start(fixture, enforcement: Pumps(enforcing));
        await using var bystander = await wire.OpenClientAsync();
        await using var client = await RawPgClient.ConnectAsync(wire.Port);
        await client.LoginAsync(extraParameters: new KeyValuePair<string, string>("application_name", app));
        await client.SendAsync(RawPgClient.Query(BigResult));
        await ReadRowsAsync(client, 2000);

        await using (var super = await Direct.OpenSuperUserAsync(fixture))
        {
            // In the select list, so that only the rows the WHERE clause kept are terminated.
            await using var terminate = new NpgsqlCommand("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = @a", super);
            terminate.Parameters.AddWithValue("a", app);
            Assert.Equal(true, await terminate.ExecuteScalarAsync());
        }

        // The rows in flight arrive, then the server's own FATAL (57P01), or Wire's 08006 if the server died without a
        // word; or, when the server stopped inside a row Wire had begun to stream, the connection is cut mid-message.
        var end = await ReadToEndAsync(client, wire);
        AssertFailedVisibly(end, wire, PostgresErrorCodes.AdminShutdown, PostgresErrorCodes.ConnectionFailure);

        await WaitForLogAsync(wire, "ended: UpstreamClosed");
        Assert.Equal(1, await Direct.ScalarAsync<int>(bystander, "SELECT 1"));
        await using var next = await wire.OpenClientAsync();
        Assert.Equal(2, await Direct.ScalarAsync<int>(next, "SELECT 2"));
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_upstream_connection_reset_while_a_result_streams_ends_the_client_with_08006(bool enforcing)
    {
        // Rows trickle (about 16 per millisecond of sleep) and the client reads them as they come: no back-pressure.
        await ResetMidResultAsync(enforcing, "SELECT g, repeat('x', 500) FROM generate_series(1, 100000) g WHERE pg_sleep(0.001) IS NOT NULL", 200);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_upstream_connection_reset_while_a_back_pressured_result_streams_ends_the_client_with_08006(bool enforcing)
    {
        // The client reads 2000 rows and pauses while the reset happens: Wire's upstream pipe is full at that moment.
        await ResetMidResultAsync(enforcing, BigResult, 2000);
    }

    private async Task ResetMidResultAsync(bool enforcing, string sql, int rowsBefore)
    {
        await using var relay = new FaultRelay(fixture.Port);
        await using var wire = WireProxyHarness.Start(fixture, o =>
        {
            o.Targets.Add(WireProxyHarness.Target(fixture, name: "via-relay", port: relay.Port));
        }, enforcement: Pumps(enforcing));
        await using var bystander = await wire.OpenClientAsync();
        await using var client = await RawPgClient.ConnectAsync(wire.Port);
        await client.SendAsync(RawPgClient.Startup(RawPgClient.StartupParameters(database: "via-relay")));
        Assert.Equal('R', (await client.ReadMessageAsync())!.Tag);
        await client.SendAsync(RawPgClient.Password(WireProxyHarness.Token));
        await client.ReadUntilAsync('Z');
        await client.SendAsync(RawPgClient.Query(sql));
        await ReadRowsAsync(client, rowsBefore);

        // The upstream host "crashes": its connection to Wire is reset mid-stream.
        Assert.Equal(2, relay.ResetAll());

        // Wire tells the client 08006, unless it had begun to stream a row the server never finished: then it can only
        // cut the connection (an error now would be read as the rest of that row).
        var end = await ReadToEndAsync(client, wire);
        AssertFailedVisibly(end, wire, PostgresErrorCodes.ConnectionFailure);

        await WaitForLogAsync(wire, "I/O error on the server connection");
        await WaitForLogAsync(wire, "on via-relay ended: UpstreamClosed");
        Assert.Equal(1, await Direct.ScalarAsync<int>(bystander, "SELECT 1"));
        await using var next = await wire.OpenClientAsync(b => b.Database = "via-relay");
        Assert.Equal(3, await Direct.ScalarAsync<int>(next, "SELECT 3"));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_target_that_accepts_but_never_answers_the_login_is_08006_within_the_connect_timeout()
    {
        using var hung = StalledTarget.Silent();
        await using var wire = WireProxyHarness.Start(fixture, o =>
        {
            o.Targets.Add(WireProxyHarness.Target(fixture, name: "hung", port: hung.Port));
            o.Limits.ConnectTimeout = TimeSpan.FromSeconds(2);
            o.Limits.HandshakeTimeout = TimeSpan.FromSeconds(20);
        });

        var stopwatch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAnyAsync<NpgsqlException>(() => wire.OpenClientAsync(b => b.Database = "hung"));
        var elapsed = stopwatch.Elapsed;
        var postgres = Assert.IsType<PostgresException>(error);
        Assert.Equal(PostgresErrorCodes.ConnectionFailure, postgres.SqlState);
        Assert.Contains("hung", postgres.MessageText, StringComparison.Ordinal);
        Assert.Contains("did not answer", postgres.MessageText, StringComparison.Ordinal);
        Assert.True(elapsed >= TimeSpan.FromSeconds(1.5) && elapsed < TimeSpan.FromSeconds(10), $"refused after {elapsed}");
        Assert.True(hung.Accepted >= 1, "Wire never reached the target");
        await WaitForLogAsync(wire, "target hung unavailable");

        await using var next = await wire.OpenClientAsync();
        Assert.Equal(1, await Direct.ScalarAsync<int>(next, "SELECT 1"));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_target_that_never_completes_the_tcp_handshake_is_08006_within_the_connect_timeout()
    {
        using var blackhole = StalledTarget.Unanswered();
        await using var wire = WireProxyHarness.Start(fixture, o =>
        {
            o.Targets.Add(WireProxyHarness.Target(fixture, name: "blackhole", port: blackhole.Port));
            o.Limits.ConnectTimeout = TimeSpan.FromSeconds(1);
        });

        var stopwatch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<PostgresException>(() => wire.OpenClientAsync(b => b.Database = "blackhole"));
        Assert.Equal(PostgresErrorCodes.ConnectionFailure, error.SqlState);
        Assert.Contains("unreachable", error.MessageText, StringComparison.Ordinal);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"refused after {stopwatch.Elapsed}");
        await WaitForLogAsync(wire, "target blackhole unavailable");

        await using var next = await wire.OpenClientAsync();
        Assert.Equal(1, await Direct.ScalarAsync<int>(next, "SELECT 1"));
    }

    /// <summary>How a streaming result ended for the client.</summary>
    internal sealed record StreamEnd(List<PgMessage> Errors, bool Completed, bool Cut, TimeSpan Elapsed, string Tail);

    /// <summary>
    /// Reads until the connection closes (bounded: a connection still open after 15 s fails the test with Wire's log):
    /// the error responses, whether the result was presented as complete, and whether the close cut a message.
    /// </summary>
    internal static async Task<StreamEnd> ReadToEndAsync(RawPgClient client, WireProxyHarness wire)
    {
        var limit = TimeSpan.FromSeconds(15);
        var stopwatch = Stopwatch.StartNew();
        var errors = new List<PgMessage>();
        var tail = new Queue<PgMessage>();
        bool completed = false;
        while (true)
        {
            var left = limit - stopwatch.Elapsed;
            Assert.True(left > TimeSpan.Zero, $"the client connection was still open {limit.TotalSeconds} s after the fault\n{wire.Logs}");
            PgMessage? message;
            try
            {
                message = await client.ReadMessageAsync(left);
            }
            catch (TimeoutException)
            {
                Assert.Fail($"the client connection was still open {limit.TotalSeconds} s after the fault; last: {string.Join(", ", tail)}\n{wire.Logs}");
                throw;
            }
            catch (IOException)
            {
                // End of stream inside a message, or a reset.
                return new StreamEnd(errors, completed, Cut: true, stopwatch.Elapsed, string.Join(", ", tail));
            }
            if (message is null)
            {
                return new StreamEnd(errors, completed, Cut: false, stopwatch.Elapsed, string.Join(", ", tail));
            }
            completed |= message.Tag is 'C' or 'Z';
            if (message.Tag == 'E')
            {
                errors.Add(message);
            }
            tail.Enqueue(message);
            if (tail.Count > 3)
            {
                tail.Dequeue();
            }
        }
    }

    /// <summary>
    /// The client cannot mistake the broken result for a whole one: no CommandComplete or ReadyForQuery, and either an
    /// ErrorResponse with one of <paramref name="codes"/> or a connection cut inside a message.
    /// </summary>
    internal static void AssertFailedVisibly(StreamEnd end, WireProxyHarness wire, params string[] codes)
    {
        Assert.False(end.Completed, "the broken result was presented as complete");
        Assert.True(end.Cut || end.Errors.Count > 0,
            $"the connection closed cleanly between messages without an ErrorResponse; last: {end.Tail}\n{wire.Logs}");
        foreach (var error in end.Errors)
        {
            Assert.Contains(error.Fields()['C'], codes);
        }
    }

    /// <summary>Reads <paramref name="count"/> DataRows of a streaming result; anything else before them fails the test.</summary>
    internal static async Task ReadRowsAsync(RawPgClient client, int count)
    {
        int rows = 0;
        while (rows < count)
        {
            var message = await client.ReadMessageAsync();
            Assert.NotNull(message);
            Assert.True(message.Tag is 'D' or 'T', $"unexpected {message}");
            if (message.Tag == 'D')
            {
                rows++;
            }
        }
    }

    internal static async Task WaitForLogAsync(WireProxyHarness wire, string text)
    {
        for (int i = 0; i < 100 && !wire.Logs.Lines.Any(l => l.Contains(text, StringComparison.Ordinal)); i++)
        {
            await Task.Delay(50);
        }
        Assert.True(wire.Logs.Lines.Any(l => l.Contains(text, StringComparison.Ordinal)), $"no log line with \"{text}\":\n{wire.Logs}");
    }
}
