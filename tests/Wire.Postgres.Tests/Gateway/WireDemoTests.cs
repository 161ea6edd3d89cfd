using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Npgsql;

namespace Wire.Postgres.Tests.Gateway;

/// <summary><c>wire demo</c>: the README's first command.</summary>
public sealed partial class WireDemoTests
{
    [Fact]
    public async Task DemoStartsServesTheSeededDataAndCleansUp()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        await using var wire = WireProcess.Start("demo", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await wire.WaitForAsync("PGPASSWORD=demo-token psql", TimeSpan.FromSeconds(90));
        Assert.Contains($"port={port} dbname=demo user=demo", wire.Output, StringComparison.Ordinal);
        int serverPort = int.Parse(ServerPortPattern().Match(wire.Output).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

        await using (var conn = new NpgsqlConnection($"Host=127.0.0.1;Port={port};Username=demo;Password=demo-token;Database=demo;Pooling=false;SSL Mode=Disable"))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT count(*) FROM customers", conn);
            Assert.Equal(200L, await cmd.ExecuteScalarAsync());
        }

        wire.Signal(PosixSignal.SIGINT);
        Assert.Equal(0, await wire.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        // The throwaway server is gone with it.
        using var probe = new TcpClient();
        await Assert.ThrowsAsync<SocketException>(() => probe.ConnectAsync(IPAddress.Loopback, serverPort));
    }

    [GeneratedRegex(@"throwaway PostgreSQL \(port (\d+)\)")]
    private static partial Regex ServerPortPattern();
}
