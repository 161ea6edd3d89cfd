using Wire.Hosting.Configuration;

namespace Wire.Gateway.Tests.Configuration;

/// <summary>
/// The connection limits of each listener: <c>maxConnections</c>, <c>maxConnectionsPerIdentity</c>, <c>idleTimeout</c>,
/// <c>bufferBytes</c>, and SSH's <c>maxPacketBytes</c>.
/// </summary>
public sealed class GatewayConfigLimitTests : IDisposable
{
    private readonly TempConfigDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private GatewayConfig Parse(string json) => GatewayConfig.Parse(GatewayConfigTests.Json(json), _dir.Path, GatewayConfigTests.Env);

    [Fact]
    public void Defaults_apply_without_the_keys()
    {
        var config = Parse("{ 'postgres': { 'targets': [ { 'name': 'p', 'host': 'db', 'username': 'u' } ] } }");
        var limits = config.Postgres!.Connections;
        Assert.Equal((10_000, 1_000, TimeSpan.Zero), (limits.MaxConnections, limits.MaxConnectionsPerIdentity, limits.IdleTimeout));
        Assert.Equal(1L << 20, config.Postgres.Limits.BufferBytes);
    }

    [Fact]
    public void Each_listener_reads_its_own_limits()
    {
        var config = Parse("""
            {
              'postgres': { 'limits': { 'maxConnections': 50, 'maxConnectionsPerIdentity': 5, 'idleTimeout': '00:10:00', 'bufferBytes': 65536 },
                            'targets': [ { 'name': 'p', 'host': 'db', 'username': 'u' } ] },
              'http': { 'limits': { 'maxConnections': 60, 'idleTimeout': '00:01:00', 'bufferBytes': 8388608 },
                        'targets': [ { 'name': 'a', 'url': 'http://127.0.0.1:9' } ] }
            }
            """);
        var pg = config.Postgres!.Connections;
        Assert.Equal((50, 5, TimeSpan.FromMinutes(10)), (pg.MaxConnections, pg.MaxConnectionsPerIdentity, pg.IdleTimeout));
        var http = config.Http!.Connections;
        // The per-identity default never exceeds the total.
        Assert.Equal((60, 60, TimeSpan.FromMinutes(1)), (http.MaxConnections, http.MaxConnectionsPerIdentity, http.IdleTimeout));
        Assert.Equal((65536L, 8388608L), (config.Postgres.Limits.BufferBytes, config.Http.BufferBytes));
    }

    [Theory]
    [InlineData("{ 'postgres': { 'limits': { 'maxConnections': 0 }, 'targets': [ { 'name': 'p', 'host': 'db', 'username': 'u' } ] } }", "postgres.limits.maxConnections")]
    [InlineData("{ 'postgres': { 'limits': { 'maxConnectionsPerIdentity': -1 }, 'targets': [ { 'name': 'p', 'host': 'db', 'username': 'u' } ] } }", "postgres.limits.maxConnectionsPerIdentity")]
    [InlineData("{ 'postgres': { 'limits': { 'idleTimeout': 'soon' }, 'targets': [ { 'name': 'p', 'host': 'db', 'username': 'u' } ] } }", "postgres.limits.idleTimeout")]
    [InlineData("{ 'http': { 'limits': { 'maxConnections': 'many' }, 'targets': [ { 'name': 'a', 'url': 'http://x' } ] } }", "http.limits.maxConnections")]
    [InlineData("{ 'postgres': { 'limits': { 'bufferBytes': 4096 }, 'targets': [ { 'name': 'p', 'host': 'db', 'username': 'u' } ] } }", "postgres.limits.bufferBytes")]
    [InlineData("{ 'http': { 'limits': { 'bufferBytes': 1073741824 }, 'targets': [ { 'name': 'a', 'url': 'http://x' } ] } }", "http.limits.bufferBytes")]
    [InlineData("{ 'ssh': { 'limits': { 'maxPacketBytes': 1000 }, 'targets': [] } }", "ssh.limits.maxPacketBytes")]
    [InlineData("{ 'ssh': { 'limits': { 'idleTimeout': '-00:00:01' }, 'targets': [] } }", "ssh.limits.idleTimeout")]
    public void Invalid_limits_name_their_key(string json, string key) =>
        Assert.StartsWith(key + ":", Assert.Throws<ConfigException>(() => Parse(json)).Message, StringComparison.Ordinal);
}
