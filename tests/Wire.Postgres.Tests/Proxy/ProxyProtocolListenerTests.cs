using System.Text;
using Npgsql;
using Wire.Benchmarks.EndToEnd;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Testing;

namespace Wire.Postgres.Tests.Proxy;

/// <summary>
/// <c>proxyProtocol: true</c>: behind a real HAProxy (<c>send-proxy</c>, <c>send-proxy-v2</c>) sessions work and Wire takes
/// the client from the header; a connection without a header is refused; the declared client is the one Wire judges (its
/// loopback exemption from TLS no longer applies to a remote client).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ProxyProtocolListenerTests(PostgresFixture pg)
{
    [Theory]
    [InlineData("send-proxy")]
    [InlineData("send-proxy-v2")]
    public async Task SessionsWorkBehindHaProxy(string serverOptions)
    {
        await using var wire = WireProxyHarness.Start(pg, o => o.ProxyProtocol = true);
        await using var haproxy = await HaProxy.TryStartAsync("127.0.0.1", wire.Port, serverOptions)
            ?? throw new InvalidOperationException("haproxy is not installed (.ci/run installs it)");

        var builder = wire.ClientBuilder();
        builder.Port = haproxy.Port;
        await using (var conn = new NpgsqlConnection(builder.ConnectionString))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT 41 + 1", conn);
            Assert.Equal(42, await cmd.ExecuteScalarAsync());
        }

        // Straight to Wire, without the balancer's header: refused before a byte is read as PostgreSQL.
        await using var direct = new NpgsqlConnection(wire.ClientBuilder().ConnectionString);
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => direct.OpenAsync());
        Assert.True(await Eventually.WaitAsync(() => wire.Logs.Lines.Any(l => l.Contains("refused: no PROXY protocol header", StringComparison.Ordinal))),
            wire.Logs.ToString());
    }

    [Fact]
    public async Task TheDeclaredClientIsTheOneWireJudgesAndLogs()
    {
        await using var wire = WireProxyHarness.Start(pg, o => o.ProxyProtocol = true);
        await using var balancer = TcpTap.StartWithPrefix(wire.Port, Encoding.ASCII.GetBytes("PROXY TCP4 203.0.113.7 127.0.0.1 40000 6432\r\n"));
        var builder = wire.ClientBuilder();
        builder.Port = balancer.Port;

        // 203.0.113.7 is not loopback: cleartext is refused as for any remote client.
        await using (var conn = new NpgsqlConnection(builder.ConnectionString))
        {
            var refused = await Assert.ThrowsAsync<PostgresException>(() => conn.OpenAsync());
            Assert.Equal("28000", refused.SqlState);
        }

        await using var allowing = WireProxyHarness.Start(pg, o => { o.ProxyProtocol = true; o.AllowCleartextWithoutTls = true; });
        await using var balancer2 = TcpTap.StartWithPrefix(allowing.Port, Encoding.ASCII.GetBytes("PROXY TCP4 203.0.113.7 127.0.0.1 40000 6432\r\n"));
        builder.Port = balancer2.Port;
        await using (var conn = new NpgsqlConnection(builder.ConnectionString))
        {
            await conn.OpenAsync();
        }
        Assert.Contains(allowing.Logs.Lines, l => l.Contains("from 203.0.113.7:40000", StringComparison.Ordinal));
    }
}
