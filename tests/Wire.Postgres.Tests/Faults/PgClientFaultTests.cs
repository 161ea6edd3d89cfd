using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Npgsql;
using Wire.Enforcement;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Postgres.Tests.Proxy;

namespace Wire.Postgres.Tests.Faults;

/// <summary>
/// The client fails: it vanishes in the middle of a COPY FROM STDIN (the server must not be left holding a half-done
/// COPY, and nothing of it may be committed), or it sends garbage where a TLS handshake belongs (the connection ends
/// with a log line, within bounded time, and the listener goes on serving).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PgClientFaultTests(PostgresFixture fixture)
{
    private static WireEnforcement? Pumps(bool enforcing) => enforcing ? new WireEnforcement() : null;

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_client_vanishing_mid_copy_from_stdin_ends_the_backend_and_commits_nothing(bool enforcing)
    {
        string table = "copy_vanish_" + Guid.NewGuid().ToString("N")[..10];
        string app = "fault-copy-" + Guid.NewGuid().ToString("N")[..8];
        await using (var super = await Direct.OpenSuperUserAsync(fixture, PostgresFixture.Database))
        {
            await using var create = new NpgsqlCommand(
                $"CREATE TABLE public.{table} (id int, v text); ALTER TABLE public.{table} OWNER TO {PostgresFixture.ScramUser}", super);
            await create.ExecuteNonQueryAsync();
        }

        await using var wire = WireProxyHarness.Start(fixture, enforcement: Pumps(enforcing));
        await using var bystander = await wire.OpenClientAsync();
        await using var client = await RawPgClient.ConnectAsync(wire.Port);
        await client.LoginAsync(extraParameters: new KeyValuePair<string, string>("application_name", app));
        await client.SendAsync(RawPgClient.Query($"COPY public.{table} FROM STDIN"));
        var copyIn = await client.ReadMessageAsync();
        Assert.True(copyIn is { Tag: 'G' }, $"expected CopyInResponse, got {copyIn}");

        // About 2 MB of rows, then half a CopyData frame, then the client is gone (reset, no CopyDone, no Terminate).
        var rows = new System.Text.StringBuilder();
        for (int i = 0; i < 20_000; i++)
        {
            rows.Append(i).Append('\t').Append('v', 90).Append('\n');
        }
        byte[] data = System.Text.Encoding.ASCII.GetBytes(rows.ToString());
        for (int offset = 0; offset < data.Length; offset += 64 * 1024)
        {
            await client.SendAsync(RawPgClient.Message('d', data.AsSpan(offset, Math.Min(64 * 1024, data.Length - offset))));
        }
        byte[] partial = RawPgClient.Message('d', new byte[1000]);
        await client.SendAsync(partial.AsMemory(0, 300));
        Assert.True(await Direct.WaitForBackendCountAsync(fixture, app, c => c == 1, TimeSpan.FromSeconds(5)), "the backend is not there");
        client.Abort();

        // The server's backend ends (its COPY aborted) instead of waiting for the rest of a COPY nobody will send.
        Assert.True(await Direct.WaitForBackendCountAsync(fixture, app, c => c == 0, TimeSpan.FromSeconds(10)),
            "the backend was still there 10 s after the client vanished mid-COPY\n" + wire.Logs);
        await using (var super = await Direct.OpenSuperUserAsync(fixture, PostgresFixture.Database))
        {
            Assert.Equal(0L, await Direct.ScalarAsync<long>(super, $"SELECT count(*) FROM public.{table}"));
            await using var drop = new NpgsqlCommand($"DROP TABLE public.{table}", super);
            await drop.ExecuteNonQueryAsync();
        }

        await PgUpstreamFaultTests.WaitForLogAsync(wire, "ended: ClientClosed");
        Assert.Equal(1, await Direct.ScalarAsync<int>(bystander, "SELECT 1"));
        await using var next = await wire.OpenClientAsync();
        Assert.Equal(2, await Direct.ScalarAsync<int>(next, "SELECT 2"));
    }

    public static TheoryData<string, byte[]> Garbage => new()
    {
        // After SSLRequest was answered 'S': an HTTP request instead of a ClientHello.
        { "after-ssl-request", "GET / HTTP/1.1\r\nHost: wire\r\n\r\n"u8.ToArray() },
        // After SSLRequest: a TLS record header claiming a handshake, then junk.
        { "after-ssl-request", [0x16, 0x03, 0x01, 0x00, 0x40, .. Enumerable.Repeat((byte)0xAB, 64)] },
        // Direct TLS (first byte 0x16): a record header whose body is junk.
        { "direct", [0x16, 0x03, 0x03, 0x00, 0x30, .. Enumerable.Repeat((byte)0x00, 48)] },
    };

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Garbage))]
    public async Task Garbage_instead_of_a_tls_handshake_ends_that_connection_with_a_log_line_and_wire_keeps_serving(string mode, byte[] garbage)
    {
        await using var wire = WireProxyHarness.Start(fixture, o => o.ServerCertificate = fixture.ServerCertificate.Certificate);
        await using var client = await RawPgClient.ConnectAsync(wire.Port);
        if (mode == "after-ssl-request")
        {
            await client.SendAsync(RawPgClient.SslRequest());
            Assert.Equal((int)'S', await client.ReadByteAsync());
        }
        await client.SendAsync(garbage);

        // Wire answers with a TLS alert at most, never with PostgreSQL messages, and closes.
        var stopwatch = Stopwatch.StartNew();
        await ReadUntilClosedAsync(client.Socket, TimeSpan.FromSeconds(10));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10));
        await PgUpstreamFaultTests.WaitForLogAsync(wire, "TLS handshake with");

        await using var next = await wire.OpenClientAsync(b =>
        {
            b.SslMode = SslMode.VerifyFull;
            b.RootCertificate = fixture.CaPemPath;
        });
        Assert.Equal(1, await Direct.ScalarAsync<int>(next, "SELECT 1"));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_tls_handshake_that_stops_halfway_is_cut_off_at_the_handshake_timeout()
    {
        await using var wire = WireProxyHarness.Start(fixture, o =>
        {
            o.ServerCertificate = fixture.ServerCertificate.Certificate;
            o.Limits.HandshakeTimeout = TimeSpan.FromSeconds(2);
        });
        await using var client = await RawPgClient.ConnectAsync(wire.Port);
        await client.SendAsync(RawPgClient.SslRequest());
        Assert.Equal((int)'S', await client.ReadByteAsync());

        // The first bytes of a real ClientHello, then silence.
        byte[] hello = await CaptureClientHelloAsync();
        await client.SendAsync(hello.AsMemory(0, hello.Length / 2));

        var stopwatch = Stopwatch.StartNew();
        await ReadUntilClosedAsync(client.Socket, TimeSpan.FromSeconds(10));
        Assert.True(stopwatch.Elapsed >= TimeSpan.FromSeconds(1) && stopwatch.Elapsed < TimeSpan.FromSeconds(10),
            $"closed after {stopwatch.Elapsed}");
        await PgUpstreamFaultTests.WaitForLogAsync(wire, "the TLS handshake did not finish in time");

        await using var next = await wire.OpenClientAsync(b => b.SslMode = SslMode.Require);
        Assert.Equal(1, await Direct.ScalarAsync<int>(next, "SELECT 1"));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_client_that_stalls_after_its_startup_packet_is_told_57014_at_the_handshake_timeout()
    {
        await using var wire = WireProxyHarness.Start(fixture, o => o.Limits.HandshakeTimeout = TimeSpan.FromSeconds(2));
        await using var client = await RawPgClient.ConnectAsync(wire.Port);
        await client.SendAsync(RawPgClient.Startup(RawPgClient.StartupParameters()));
        Assert.Equal('R', (await client.ReadMessageAsync())!.Tag); // asked for its token, which never comes

        var stopwatch = Stopwatch.StartNew();
        var error = await client.ReadMessageAsync(TimeSpan.FromSeconds(10));
        Assert.True(stopwatch.Elapsed >= TimeSpan.FromSeconds(1) && stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"told after {stopwatch.Elapsed}");
        Assert.NotNull(error);
        Assert.Equal('E', error.Tag);
        var fields = error.Fields();
        Assert.Equal(("FATAL", PostgresErrorCodes.QueryCanceled), (fields['S'], fields['C']));
        Assert.Contains("did not finish within 00:00:02", fields['M'], StringComparison.Ordinal);
        Assert.Empty(await client.ReadUntilClosedAsync(TimeSpan.FromSeconds(10)));
        await PgUpstreamFaultTests.WaitForLogAsync(wire, "did not finish within");
    }

    /// <summary>Reads and drops whatever arrives until the peer closes; fails if it is still open after <paramref name="timeout"/>.</summary>
    private static async Task ReadUntilClosedAsync(Socket socket, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[4096];
        try
        {
            while (await socket.ReceiveAsync(buffer, cts.Token) > 0)
            {
                // A TLS alert record, if anything: never a PostgreSQL message in the clear.
                Assert.Equal((byte)0x15, buffer[0]);
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"the connection was still open after {timeout}");
        }
        catch (SocketException)
        {
            // Reset: closed as well.
        }
    }

    /// <summary>A genuine ClientHello, as .NET's TLS client sends it.</summary>
    private static async Task<byte[]> CaptureClientHelloAsync()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, ((System.Net.IPEndPoint)listener.LocalEndpoint).Port);
        using var server = await listener.AcceptTcpClientAsync();
        using var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, _, _, _) => true);
        var handshake = ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        });
        var buffer = new byte[16 * 1024];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int n = await server.GetStream().ReadAsync(buffer, cts.Token);
        Assert.True(n > 10 && buffer[0] == 0x16, "no ClientHello captured");
        server.Close();
        await Assert.ThrowsAnyAsync<Exception>(() => handshake);
        return buffer[..n];
    }
}
