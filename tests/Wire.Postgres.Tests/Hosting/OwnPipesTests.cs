using System.Net;
using System.Net.Sockets;
using Npgsql;
using Wire.Enforcement;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;
using Wire.Postgres.Proxy;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Postgres.Tests.Proxy;
using Wire.Testing;

namespace Wire.Postgres.Tests.Hosting;

/// <summary>
/// <see cref="PgProxyServer.RunAsync"/>: a host that owns the transport (here its own accept loop and its own connection to
/// the real server, both as pipes over streams) runs Wire's session over them; Wire never listens nor dials the target.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class OwnPipesTests(PostgresFixture pg)
{
    [Fact]
    public async Task SessionRunsOverTheHostsPipesWithRulesAndEndsThem()
    {
        var options = new PgProxyOptions { Listen = new IPEndPoint(IPAddress.Loopback, 0) }; // never started
        options.Targets.Add(WireProxyHarness.Target(pg));
        var rules = RuleSet.Create([new RuleDefinition { Name = "no-drop", Action = PolicyAction.Deny, Statements = [StatementKind.Drop] }]);
        await using var server = new PgProxyServer(options,
            new StaticTokenValidator([new StaticToken("own-pipes-token", "alice", ["eng"])]), null,
            new WireEnforcement { Rules = new RuleSetProvider(rules) });

        using var accept = new TcpListener(IPAddress.Loopback, 0);
        accept.Start();
        int port = ((IPEndPoint)accept.LocalEndpoint).Port;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        // The host reaches the server through a relay of its own: Wire must log in over the host's connection.
        await using var hostsRoute = TcpTap.Start(pg.Port);

        // The host's side: one accepted client, one connection of its own to the server, and Wire between them.
        var hosting = Task.Run(async () =>
        {
            using var client = await accept.AcceptSocketAsync(timeout.Token);
            using var upstream = new TcpClient();
            await upstream.ConnectAsync(System.Net.IPAddress.Loopback, hostsRoute.Port, timeout.Token);
            await server.RunAsync(new StreamPipe(new NetworkStream(client, ownsSocket: false)), new StreamPipe(upstream.GetStream()),
                (IPEndPoint)client.RemoteEndPoint!, timeout.Token);
            // Wire completed the pipes, which closed the host's stream and with it the connection to the server.
            try
            {
                return upstream.Client.Poll(5_000_000, SelectMode.SelectRead) && upstream.Client.Available == 0;
            }
            catch (ObjectDisposedException)
            {
                return true;
            }
        });

        await using (var conn = new NpgsqlConnection(
            $"Host=127.0.0.1;Port={port};Username=alice;Password=own-pipes-token;Database={PostgresFixture.Database};Pooling=false;SSL Mode=Disable;Timeout=10"))
        {
            await conn.OpenAsync();
            await using (var select = new NpgsqlCommand("SELECT current_user", conn))
            {
                Assert.Equal(PostgresFixture.ScramUser, await select.ExecuteScalarAsync());
            }
            var denied = await Assert.ThrowsAsync<PostgresException>(async () =>
            {
                await using var drop = new NpgsqlCommand("DROP TABLE IF EXISTS own_pipes_nothing", conn);
                await drop.ExecuteNonQueryAsync();
            });
            Assert.Equal("42501", denied.SqlState);
            await using (var after = new NpgsqlCommand("SELECT 1", conn))
            {
                Assert.Equal(1, await after.ExecuteScalarAsync()); // the session stays after a denial
            }
        }

        Assert.True(await hosting.WaitAsync(TimeSpan.FromSeconds(30)), "the upstream connection stayed open after the session ended");
        Assert.True(hostsRoute.Connections >= 1, "the session did not go over the host's connection");
        Assert.Contains(hostsRoute.ToClient, bytes => bytes.Length > 0 && bytes[0] == (byte)'R'); // the server's authentication request
    }
}
