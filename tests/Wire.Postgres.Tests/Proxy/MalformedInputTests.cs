using System.Buffers.Binary;
using Wire.Postgres.Tests.Infrastructure;

namespace Wire.Postgres.Tests.Proxy;

/// <summary>Malformed client input over raw sockets: ErrorResponse 08P01, then the connection closes.</summary>
[Collection(PostgresCollection.Name)]
public sealed class MalformedInputTests(PostgresFixture fixture)
{
    [Fact(Timeout = 60_000)]
    public async Task Frame_length_below_four_after_login_is_08P01_and_close()
    {
        var appName = "malformed-" + Guid.NewGuid().ToString("N")[..8];
        await using var wire = WireProxyHarness.Start(fixture);
        await using var client = await RawPgClient.ConnectAsync(wire.Port);
        await client.LoginAsync(extraParameters: new KeyValuePair<string, string>("application_name", appName));
        Assert.True(await Direct.WaitForBackendCountAsync(fixture, appName, c => c == 1, TimeSpan.FromSeconds(5)), "the upstream backend is not there");

        await client.SendAsync(new byte[] { (byte)'Q', 0, 0, 0, 2 });

        await AssertProtocolViolationThenCloseAsync(client, wire);
        Assert.True(
            await Direct.WaitForBackendCountAsync(fixture, appName, c => c == 0, TimeSpan.FromSeconds(10)),
            "the upstream backend outlived the client's protocol violation");
    }

    [Fact(Timeout = 60_000)]
    public async Task Unknown_message_type_is_08P01_and_close()
    {
        await using var wire = WireProxyHarness.Start(fixture);
        await using (var client = await RawPgClient.ConnectAsync(wire.Port))
        {
            await client.LoginAsync();

            await client.SendAsync(RawPgClient.Message('z', "hello\0"u8));

            await AssertProtocolViolationThenCloseAsync(client, wire);
        }

        // The listener serves the next client as usual.
        await using var next = await RawPgClient.ConnectAsync(wire.Port);
        await next.LoginAsync();
        await next.SendAsync(RawPgClient.Query("SELECT 1"));
        var answer = await next.ReadUntilAsync('Z');
        Assert.Contains(answer, m => m.Tag == 'D');
    }

    [Fact(Timeout = 60_000)]
    public async Task Frame_over_max_frame_bytes_is_08P01_and_close()
    {
        await using var wire = WireProxyHarness.Start(fixture, options => options.Limits.MaxFrameBytes = 1024);
        await using var client = await RawPgClient.ConnectAsync(wire.Port);
        await client.LoginAsync();

        // A Query of length 4096: "SELECT '" + padding + "'" + NUL.
        var frame = new byte[1 + 4096];
        frame[0] = (byte)'Q';
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), 4096);
        var sql = "SELECT '"u8;
        sql.CopyTo(frame.AsSpan(5));
        frame.AsSpan(5 + sql.Length, 4096 - 4 - sql.Length - 2).Fill((byte)'x');
        frame[^2] = (byte)'\'';
        frame[^1] = 0;
        await client.SendAsync(frame);

        await AssertProtocolViolationThenCloseAsync(client, wire);
    }

    [Fact(Timeout = 60_000)]
    public async Task Frame_under_max_frame_bytes_still_passes()
    {
        await using var wire = WireProxyHarness.Start(fixture, options => options.Limits.MaxFrameBytes = 1024);
        await using var client = await RawPgClient.ConnectAsync(wire.Port);
        await client.LoginAsync();

        await client.SendAsync(RawPgClient.Query("SELECT '" + new string('y', 900) + "'"));

        var answer = await client.ReadUntilAsync('Z');
        Assert.DoesNotContain(answer, m => m.Tag == 'E');
        Assert.Contains(answer, m => m.Tag == 'D');
    }

    [Fact(Timeout = 60_000)]
    public async Task Bytes_after_ssl_request_in_the_same_write_are_08P01_and_close()
    {
        await using var wire = WireProxyHarness.Start(fixture, options => options.ServerCertificate = fixture.ServerCertificate.Certificate);
        await using var client = await RawPgClient.ConnectAsync(wire.Port);

        // CVE-2021-23214: a man in the middle appends a cleartext startup after SSLRequest.
        byte[] packet = [.. RawPgClient.SslRequest(), .. RawPgClient.Startup(RawPgClient.StartupParameters())];
        await client.SendAsync(packet);

        var first = await client.ReadMessageAsync();
        Assert.NotNull(first);
        Assert.True(first.Tag == 'E', $"expected ErrorResponse, got {first}");
        Assert.Equal("08P01", first.Fields()['C']);
        await client.ReadUntilClosedAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task Ssl_request_alone_is_answered_with_S()
    {
        await using var wire = WireProxyHarness.Start(fixture, options => options.ServerCertificate = fixture.ServerCertificate.Certificate);
        await using var client = await RawPgClient.ConnectAsync(wire.Port);

        await client.SendAsync(RawPgClient.SslRequest());

        Assert.Equal((int)'S', await client.ReadByteAsync());
    }

    [Fact(Timeout = 60_000)]
    public async Task Garbage_first_packet_is_08P01()
    {
        await using var wire = WireProxyHarness.Start(fixture);
        await using var client = await RawPgClient.ConnectAsync(wire.Port);

        await client.SendAsync(new byte[] { 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef });

        await AssertProtocolViolationThenCloseAsync(client, wire);
    }

    [Fact(Timeout = 60_000)]
    public async Task Password_message_of_wrong_type_is_08P01()
    {
        await using var wire = WireProxyHarness.Start(fixture);
        await using var client = await RawPgClient.ConnectAsync(wire.Port);
        await client.SendAsync(RawPgClient.Startup(RawPgClient.StartupParameters()));
        var auth = await client.ReadMessageAsync();
        Assert.Equal('R', auth!.Tag);

        await client.SendAsync(RawPgClient.Query("SELECT 1"));

        await AssertProtocolViolationThenCloseAsync(client, wire);
    }

    private static async Task AssertProtocolViolationThenCloseAsync(RawPgClient client, WireProxyHarness wire)
    {
        var messages = await client.ReadUntilClosedAsync();
        var error = messages.FirstOrDefault(m => m.Tag == 'E');
        Assert.True(error is not null, $"no ErrorResponse before close; got [{string.Join(", ", messages)}]{Environment.NewLine}{wire.Logs}");
        var fields = error.Fields();
        Assert.Equal("08P01", fields['C']);
        Assert.Equal("FATAL", fields['S']);
        Assert.Same(error, messages[^1]);
    }
}
