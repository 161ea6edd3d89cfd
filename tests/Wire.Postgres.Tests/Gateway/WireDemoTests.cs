using Wire.Testing;
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

            // The demo's rules: PII masked in place (length kept), DROP denied with the session kept.
            await using var pii = new NpgsqlCommand("SELECT ssn, email, md5(ssn) FROM customers ORDER BY id LIMIT 1", conn);
            await using (var reader = await pii.ExecuteReaderAsync())
            {
                Assert.True(await reader.ReadAsync());
                Assert.Matches(@"^\*{7}\d{4}$", reader.GetString(0));
                Assert.Matches(@"^\*+@[a-z.]+$", reader.GetString(1));
                Assert.Equal(new string('*', 32), reader.GetString(2));
            }
            await using var drop = new NpgsqlCommand("DROP TABLE orders", conn);
            var denied = await Assert.ThrowsAsync<PostgresException>(() => drop.ExecuteNonQueryAsync());
            Assert.Equal("42501", denied.SqlState);
            Assert.Equal("wire: denied by rule no-drop: not in the demo", denied.MessageText);

            // The printed approval page's API: the reviewer token approves an unbounded DELETE that waits for review.
            string admin = AdminPattern().Match(wire.Output).Groups[1].Value;
            using var http = new HttpClient { BaseAddress = new Uri("http://" + admin), Timeout = TimeSpan.FromSeconds(30) };
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "reviewer-token");
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/approvals")).StatusCode);
            await using var delete = new NpgsqlCommand("DELETE FROM orders", conn);
            var deleting = delete.ExecuteNonQueryAsync();
            string? id = null;
            for (int i = 0; i < 200 && id is null; i++)
            {
                var pending = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/api/approvals")).RootElement;
                id = pending.GetArrayLength() > 0 ? pending[0].GetProperty("id").GetString() : null;
                await Task.Delay(id is null ? 50 : 0);
            }
            Assert.NotNull(id);
            Assert.Equal(HttpStatusCode.OK, (await http.PostAsync($"/api/approvals/{id}/approve", null)).StatusCode);
            Assert.True(await deleting >= 0);
        }

        // Recorded, and the printed verify command's config holds the key.
        string directory = RecordingsPattern().Match(wire.Output).Groups[1].Value;
        for (int i = 0; i < 100 && !Directory.EnumerateFiles(directory, "*.jsonl").Any(f => File.ReadAllText(f).Contains("session.end", StringComparison.Ordinal)); i++)
        {
            await Task.Delay(50);
        }
        var verification = Wire.Enforcement.Recording.RecordingVerifier.Verify(directory,
            System.Text.Encoding.UTF8.GetBytes(System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "recording-config.json")))
                .RootElement.GetProperty("recording").GetProperty("key").GetString()!));
        Assert.NotEmpty(verification);
        Assert.All(verification, v => Assert.True(v.IsValid, v.ToString()));
        Assert.Contains("\"outcome\":\"denied\"", File.ReadAllText(verification[0].Path), StringComparison.Ordinal);

        wire.Signal(PosixSignal.SIGINT);
        Assert.Equal(0, await wire.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        // The throwaway server is gone with it.
        using var probe = new TcpClient();
        await Assert.ThrowsAsync<SocketException>(() => probe.ConnectAsync(IPAddress.Loopback, serverPort));
    }

    [GeneratedRegex(@"throwaway PostgreSQL \(port (\d+)\)")]
    private static partial Regex ServerPortPattern();

    [GeneratedRegex(@"Approval page: http://(\S+)/approvals")]
    private static partial Regex AdminPattern();

    [GeneratedRegex(@"Sessions are recorded in (\S+)")]
    private static partial Regex RecordingsPattern();
}
