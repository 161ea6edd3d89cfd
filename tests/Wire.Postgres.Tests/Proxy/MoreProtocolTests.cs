using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Npgsql;
using Wire.Enforcement.Identity;
using Wire.Postgres.Proxy;
using Wire.Postgres.Tests.Infrastructure;

namespace Wire.Postgres.Tests.Proxy;

/// <summary>The upstream leg's TLS negotiation, cleartext tokens off loopback, OIDC logins and fast-path calls.</summary>
[Collection(PostgresCollection.Name)]
public sealed class MoreProtocolTests(PostgresFixture fixture)
{
    [Fact(Timeout = 60_000)]
    public async Task Server_bytes_after_its_ssl_answer_are_refused_08P01()
    {
        // A fake server that accepts SSLRequest and sends unencrypted bytes right behind its 'S'
        // (CVE-2021-23222): Wire must not hand them to TLS as if they were protected.
        using var fake = new TcpListener(IPAddress.Loopback, 0);
        fake.Start();
        var serve = Task.Run(async () =>
        {
            using var socket = await fake.AcceptSocketAsync();
            byte[] request = new byte[8];
            await socket.ReceiveAsync(request, SocketFlags.None);
            await socket.SendAsync("Sinjected"u8.ToArray(), SocketFlags.None);
            await Task.Delay(2000);
        });

        int fakePort = ((IPEndPoint)fake.LocalEndpoint).Port;
        await using var wire = WireProxyHarness.Start(fixture, options =>
        {
            options.Targets.Clear();
            options.Targets.Add(new PgTargetOptions
            {
                Name = WireProxyHarness.TargetName, Host = "127.0.0.1", Port = fakePort, Username = "u", Password = "p", SslMode = PgSslMode.Require,
            });
        });

        // A raw client: Npgsql answers an 08P01 at startup by retrying, which the one-shot fake cannot serve.
        await using var client = await RawPgClient.ConnectAsync(wire.Port);
        await client.SendAsync(RawPgClient.Startup(RawPgClient.StartupParameters()));
        Assert.Equal('R', (await client.ReadMessageAsync())!.Tag);
        await client.SendAsync(RawPgClient.Password(WireProxyHarness.Token));
        var messages = await client.ReadUntilClosedAsync();
        var error = Assert.Single(messages, m => m.Tag == 'E');
        Assert.Equal("08P01", error.Fields()['C']);
        await serve;
    }

    [Fact(Timeout = 60_000)]
    public async Task Token_over_plain_tcp_from_a_non_loopback_address_is_refused_28000()
    {
        IPAddress local = NonLoopbackAddress();
        await using var wire = WireProxyHarness.Start(fixture, options => options.Listen = new IPEndPoint(IPAddress.Any, 0));
        var builder = wire.ClientBuilder();
        builder.Host = local.ToString();
        await using var conn = new NpgsqlConnection(builder.ConnectionString);
        var error = await Assert.ThrowsAsync<PostgresException>(() => conn.OpenAsync());
        Assert.Equal("28000", error.SqlState);

        // The operator may allow it explicitly.
        await using var allowed = WireProxyHarness.Start(fixture, options =>
        {
            options.Listen = new IPEndPoint(IPAddress.Any, 0);
            options.AllowCleartextWithoutTls = true;
        });
        var allowedBuilder = allowed.ClientBuilder();
        allowedBuilder.Host = local.ToString();
        await using var ok = new NpgsqlConnection(allowedBuilder.ConnectionString);
        await ok.OpenAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task Oidc_token_logs_in_and_an_expired_one_gets_28P01()
    {
        using var rsa = RSA.Create(2048);
        var key = new RsaSecurityKey(rsa) { KeyId = "k1" };
        string directory = Directory.CreateTempSubdirectory("wire-oidc-").FullName;
        try
        {
            string jwks = Path.Combine(directory, "jwks.json");
            var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(rsa.ExportParameters(false)) { KeyId = "k1" });
            jwk.Use = "sig";
            jwk.Alg = "RS256";
            await File.WriteAllTextAsync(jwks, $$"""{ "keys": [ {{System.Text.Json.JsonSerializer.Serialize(jwk)}} ] }""");
            var validator = new OidcTokenValidator(new OidcOptions { Issuer = "https://idp.test", Audience = "wire", JwksFile = jwks });

            string Token(DateTime expires) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
            {
                Issuer = "https://idp.test",
                Audience = "wire",
                Subject = new System.Security.Claims.ClaimsIdentity([new System.Security.Claims.Claim("sub", WireProxyHarness.Subject)]),
                NotBefore = expires.AddHours(-2),
                IssuedAt = expires.AddHours(-2),
                Expires = expires,
                SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256),
            });

            await using var wire = WireProxyHarness.Start(fixture, identityValidator: validator);
            await using (var conn = await wire.OpenClientAsync(b => b.Password = Token(DateTime.UtcNow.AddMinutes(10))))
            {
                await using var cmd = new NpgsqlCommand("SELECT 40 + 2", conn);
                Assert.Equal(42, await cmd.ExecuteScalarAsync());
            }

            var expired = await Assert.ThrowsAsync<PostgresException>(() => wire.OpenClientAsync(b => b.Password = Token(DateTime.UtcNow.AddMinutes(-5))));
            Assert.Equal("28P01", expired.SqlState);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Gss_encryption_request_is_declined_and_the_login_goes_on_in_plain()
    {
        await using var wire = WireProxyHarness.Start(fixture);
        await using var client = await RawPgClient.ConnectAsync(wire.Port);
        byte[] gssEncRequest = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(gssEncRequest, 8);
        BinaryPrimitives.WriteInt32BigEndian(gssEncRequest.AsSpan(4), (1234 << 16) | 5680);
        await client.SendAsync(gssEncRequest);
        Assert.Equal((int)'N', await client.ReadByteAsync());

        await client.LoginAsync();
        await client.SendAsync(RawPgClient.Query("SELECT 1"));
        var reply = await client.ReadUntilAsync('Z');
        Assert.Contains(reply, m => m.Tag == 'D');
    }

    [Fact(Timeout = 60_000)]
    public async Task Function_call_passes_through()
    {
        await using var wire = WireProxyHarness.Start(fixture);
        await using var client = await RawPgClient.ConnectAsync(wire.Port);
        await client.LoginAsync();

        // FunctionCall 'F': int4pl (OID 177) with two binary int4 arguments, binary result.
        var body = new List<byte>();
        void Int32(int v) { byte[] b = new byte[4]; BinaryPrimitives.WriteInt32BigEndian(b, v); body.AddRange(b); }
        void Int16(short v) { byte[] b = new byte[2]; BinaryPrimitives.WriteInt16BigEndian(b, v); body.AddRange(b); }
        Int32(177);
        Int16(1); Int16(1);         // one format code: binary for all arguments
        Int16(2);                   // two arguments
        Int32(4); Int32(40);
        Int32(4); Int32(2);
        Int16(1);                   // result format: binary
        await client.SendAsync(RawPgClient.Message('F', body.ToArray()));
        var reply = await client.ReadUntilAsync('Z');
        var result = Assert.Single(reply, m => m.Tag == 'V');
        Assert.Equal(4, result.Int32At(0));
        Assert.Equal(42, result.Int32At(4));
    }

    private static IPAddress NonLoopbackAddress()
    {
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.OperationalStatus != OperationalStatus.Up || nic.NetworkInterfaceType == NetworkInterfaceType.Loopback)
            {
                continue;
            }

            foreach (var address in nic.GetIPProperties().UnicastAddresses)
            {
                if (address.Address.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(address.Address))
                {
                    return address.Address;
                }
            }
        }

        throw new InvalidOperationException("this machine has no non-loopback IPv4 address to test a non-loopback client with");
    }
}
