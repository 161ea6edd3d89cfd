using System.Diagnostics;
using Npgsql;
using Wire.Postgres.Tests.Infrastructure;

namespace Wire.Postgres.Tests.Proxy;

/// <summary>A peer disappears in the middle of the session.</summary>
[Collection(PostgresCollection.Name)]
public sealed class FaultTests(PostgresFixture fixture)
{
    [Fact(Timeout = 90_000)]
    public async Task Client_vanishing_mid_result_ends_the_upstream_backend()
    {
        var appName = "vanish-test-" + Guid.NewGuid().ToString("N")[..8];
        await using var wire = WireProxyHarness.Start(fixture);
        await using var client = await RawPgClient.ConnectAsync(wire.Port);
        await client.LoginAsync(extraParameters: new KeyValuePair<string, string>("application_name", appName));

        await client.SendAsync(RawPgClient.Query("SELECT generate_series(1, 5000000)"));
        var rows = 0;
        while (rows < 2000)
        {
            var message = await client.ReadMessageAsync();
            Assert.NotNull(message);
            Assert.NotEqual('E', message.Tag);
            if (message.Tag == 'D')
            {
                rows++;
            }
        }

        Assert.True(await Direct.WaitForBackendCountAsync(fixture, appName, c => c == 1, TimeSpan.FromSeconds(5)), "the upstream backend is not there");
        client.Abort();

        Assert.True(
            await Direct.WaitForBackendCountAsync(fixture, appName, c => c == 0, TimeSpan.FromSeconds(10)),
            "the upstream backend was still there 10 s after the client vanished" + Environment.NewLine + wire.Logs);
    }

    [Fact(Timeout = 90_000)]
    public async Task Npgsql_client_whose_socket_is_aborted_mid_result_ends_the_upstream_backend()
    {
        var appName = "vanish-npgsql-" + Guid.NewGuid().ToString("N")[..8];
        await using var wire = WireProxyHarness.Start(fixture);
        var relay = RecordingRelay.Start(wire.Port);
        await using (relay)
        {
            var connection = await wire.OpenClientAsync(b =>
            {
                b.Port = relay.Port;
                b.ApplicationName = appName;
            });
            var command = new NpgsqlCommand("SELECT generate_series(1, 5000000)", connection);
            NpgsqlDataReader? reader = null;
            try
            {
                reader = await command.ExecuteReaderAsync();
                for (var i = 0; i < 2000; i++)
                {
                    Assert.True(await reader.ReadAsync());
                }

                Assert.True(await Direct.WaitForBackendCountAsync(fixture, appName, c => c == 1, TimeSpan.FromSeconds(5)), "the upstream backend is not there");

                // The relay goes away with its sockets: to Wire the client has vanished.
                await relay.DisposeAsync();

                Assert.True(
                    await Direct.WaitForBackendCountAsync(fixture, appName, c => c == 0, TimeSpan.FromSeconds(10)),
                    "the upstream backend was still there 10 s after the client vanished" + Environment.NewLine + wire.Logs);
            }
            finally
            {
                // The connection is broken: disposing fails or may take a while; neither may fail or hang the test.
                _ = Task.Run(async () =>
                {
                    try
                    {
                        if (reader is not null)
                        {
                            await reader.DisposeAsync();
                        }
                    }
                    catch (NpgsqlException)
                    {
                    }

                    await command.DisposeAsync();
                    await connection.DisposeAsync();
                });
            }
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task Upstream_backend_terminated_mid_query_fails_that_client_only()
    {
        var victimName = "terminate-test-" + Guid.NewGuid().ToString("N")[..8];
        await using var wire = WireProxyHarness.Start(fixture);
        await using var victim = await wire.OpenClientAsync(b => b.ApplicationName = victimName);
        await using var bystander = await wire.OpenClientAsync(b => b.ApplicationName = "bystander-" + victimName);

        await using var sleep = new NpgsqlCommand("SELECT pg_sleep(30)", victim);
        var running = sleep.ExecuteNonQueryAsync();

        await using var super = await Direct.OpenSuperUserAsync(fixture);
        int? pid = null;
        var stopwatch = Stopwatch.StartNew();
        while (pid is null && stopwatch.Elapsed < TimeSpan.FromSeconds(10))
        {
            await using var find = new NpgsqlCommand(
                "SELECT pid FROM pg_stat_activity WHERE application_name = @a AND state = 'active' AND query LIKE '%pg_sleep%'", super);
            find.Parameters.AddWithValue("a", victimName);
            pid = (int?)await find.ExecuteScalarAsync();
            if (pid is null)
            {
                await Task.Delay(50);
            }
        }

        Assert.True(pid is not null, "the victim's backend was not found running pg_sleep");
        await using (var terminate = new NpgsqlCommand("SELECT pg_terminate_backend(@p)", super))
        {
            terminate.Parameters.AddWithValue("p", pid.Value);
            Assert.True((bool)(await terminate.ExecuteScalarAsync())!);
        }

        var terminatedAt = Stopwatch.StartNew();
        var error = await Assert.ThrowsAnyAsync<NpgsqlException>(() => running.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.True(terminatedAt.Elapsed < TimeSpan.FromSeconds(10), $"the client learned of the termination after {terminatedAt.Elapsed}");
        if (error is PostgresException postgres)
        {
            Assert.Contains(postgres.SqlState, new[] { PostgresErrorCodes.AdminShutdown, PostgresErrorCodes.ConnectionFailure });
        }

        Assert.Equal(1, await Direct.ScalarAsync<int>(bystander, "SELECT 1"));
        Assert.Equal(1L, await Direct.ScalarAsync<long>(super,
            $"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bystander-{victimName}'"));
    }
}
