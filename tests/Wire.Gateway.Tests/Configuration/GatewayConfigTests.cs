using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Wire.Hosting.Configuration;
using Wire.Postgres.Proxy;

namespace Wire.Gateway.Tests.Configuration;

public sealed class GatewayConfigTests : IDisposable
{
    private readonly TempConfigDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    internal static string? Env(string name) => name switch
    {
        "APP_DB_PASSWORD" => "app-db-secret",
        "WIRE_RECORDING_KEY" => "a-recording-key-that-is-long-enough-32",
        _ => null,
    };

    /// <summary>Config text with single quotes for double quotes, so cases read well in C#.</summary>
    internal static string Json(string text) => text.Replace('\'', '"');

    [Fact]
    public void Example_file_loads()
    {
        var path = Path.Combine(RepositoryRoot(), "examples", "gateway.json");

        var config = GatewayConfig.Load(path, Env);

        Assert.Equal(Path.GetFullPath(path), config.ConfigPath);
        Assert.Equal(Path.GetDirectoryName(Path.GetFullPath(path)), config.BaseDirectory);

        var token = Assert.Single(config.Tokens);
        Assert.Equal("alice-token", token.Token);
        Assert.Equal("alice", token.Subject);
        Assert.Equal(["eng"], token.Groups);

        var oidc = Assert.IsType<Wire.Enforcement.Identity.OidcOptions>(config.Oidc);
        Assert.Equal("https://idp.example", oidc.Issuer);
        Assert.Equal("wire", oidc.Audience);
        Assert.True(Path.IsPathFullyQualified(oidc.JwksFile!));
        Assert.True(File.Exists(oidc.JwksFile));
        Assert.Null(oidc.MetadataAddress);
        Assert.True(oidc.RequireHttpsMetadata);

        Assert.True(config.EnforcementEnabled);
        Assert.Equal(4, config.Rules.Rules.Count());
        Assert.NotNull(config.Recording);

        var pg = Assert.IsType<PgProxyOptions>(config.Postgres);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 6432), pg.Listen);
        Assert.Null(pg.ServerCertificate);
        Assert.False(pg.TlsRequired);
        Assert.False(pg.AllowCleartextWithoutTls);
        Assert.Equal(1 << 30, pg.Limits.MaxFrameBytes);
        Assert.Equal(1 << 20, pg.Limits.MaxInspectedFrameBytes);
        Assert.Equal(TimeSpan.FromSeconds(30), pg.Limits.HandshakeTimeout);
        Assert.Equal(TimeSpan.FromSeconds(10), pg.Limits.ConnectTimeout);
        var target = Assert.Single(pg.Targets);
        Assert.Equal("app", target.Name);
        Assert.Equal("127.0.0.1", target.Host);
        Assert.Equal(5432, target.Port);
        Assert.Equal("app", target.Database);
        Assert.Equal("app_owner", target.Username);
        Assert.Equal("app-db-secret", target.Password);
        Assert.Equal(PgSslMode.Prefer, target.SslMode);
        Assert.Empty(target.SslRootCertificates);

        Assert.Equal(LogLevel.Information, config.LoggingLevel);
        Assert.Equal(TimeSpan.FromSeconds(30), config.ShutdownTimeout);
    }

    [Fact]
    public void Example_jwks_holds_one_rsa_public_key()
    {
        using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryRoot(), "examples", "jwks.json")));
        var key = Assert.Single(document.RootElement.GetProperty("keys").EnumerateArray().ToList());
        Assert.Equal("RSA", key.GetProperty("kty").GetString());
        Assert.False(key.TryGetProperty("d", out _));
        using var rsa = RSA.Create(new RSAParameters
        {
            Modulus = Base64Url.DecodeFromChars(key.GetProperty("n").GetString()!),
            Exponent = Base64Url.DecodeFromChars(key.GetProperty("e").GetString()!),
        });
        Assert.Equal(2048, rsa.KeySize);
    }

    [Fact]
    public void Example_file_without_the_password_variable_names_the_key()
    {
        var path = Path.Combine(RepositoryRoot(), "examples", "gateway.json");

        var e = Assert.Throws<ConfigException>(() => GatewayConfig.Load(path, _ => null));

        Assert.Equal("postgres.targets[0].password: environment variable APP_DB_PASSWORD is not set", e.Message);
    }

    [Fact]
    public void Empty_config_gives_defaults()
    {
        var config = GatewayConfig.Parse("{}", _dir.Path, Env);

        Assert.Null(config.Postgres);
        Assert.Empty(config.Tokens);
        Assert.Empty(config.Users);
        Assert.Empty(config.SshCertificateAuthorities);
        Assert.Null(config.Oidc);
        Assert.Equal(LogLevel.Information, config.LoggingLevel);
        Assert.Equal(TimeSpan.FromSeconds(30), config.ShutdownTimeout);
        Assert.Equal(string.Empty, config.ConfigPath);
        Assert.Equal(Path.GetFullPath(_dir.Path), config.BaseDirectory);
    }

    [Fact]
    public void Comments_trailing_commas_and_nulls_are_accepted()
    {
        var config = GatewayConfig.Parse(Json("""
            // a comment
            {
              /* another */
              'logging': { 'level': 'debug', },
              'shutdownTimeout': null,
              'identity': { 'tokens': [ { 'token': 't', 'subject': 's', 'groups': null }, ], },
            }
            """), _dir.Path, Env);

        Assert.Equal(LogLevel.Debug, config.LoggingLevel);
        Assert.Equal(TimeSpan.FromSeconds(30), config.ShutdownTimeout);
        Assert.Empty(Assert.Single(config.Tokens).Groups);
    }

    [Fact]
    public void Minimal_postgres_section_gets_defaults()
    {
        var config = GatewayConfig.Parse(Json("""
            { 'postgres': { 'targets': [ { 'name': 'db', 'host': 'db.internal', 'username': 'u' } ] } }
            """), _dir.Path, Env);

        var pg = config.Postgres!;
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 6432), pg.Listen);
        Assert.Null(pg.ServerCertificate);
        Assert.Equal(new PgLimits().MaxFrameBytes, pg.Limits.MaxFrameBytes);
        Assert.Equal(new PgLimits().HandshakeTimeout, pg.Limits.HandshakeTimeout);
        var target = Assert.Single(pg.Targets);
        Assert.Equal(5432, target.Port);
        Assert.Null(target.Database);
        Assert.Null(target.Password);
        Assert.Equal(PgSslMode.Prefer, target.SslMode);
    }

    [Theory]
    [InlineData("127.0.0.1:6432", "127.0.0.1", 6432)]
    [InlineData("0.0.0.0:5433", "0.0.0.0", 5433)]
    [InlineData("localhost:7000", "127.0.0.1", 7000)]
    [InlineData("[::1]:6432", "::1", 6432)]
    [InlineData("[::]:6432", "::", 6432)]
    [InlineData("127.0.0.1:0", "127.0.0.1", 0)]
    public void Listen_addresses_parse(string listen, string address, int port)
    {
        var config = GatewayConfig.Parse(Json($$"""
            { 'postgres': { 'listen': '{{listen}}', 'targets': [ { 'name': 'db', 'host': 'h', 'username': 'u' } ] } }
            """), _dir.Path, Env);

        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), config.Postgres!.Listen);
    }

    [Theory]
    [InlineData("trace", LogLevel.Trace)]
    [InlineData("debug", LogLevel.Debug)]
    [InlineData("information", LogLevel.Information)]
    [InlineData("warning", LogLevel.Warning)]
    [InlineData("error", LogLevel.Error)]
    [InlineData("critical", LogLevel.Critical)]
    [InlineData("none", LogLevel.None)]
    public void Logging_levels_parse(string level, LogLevel expected)
    {
        var config = GatewayConfig.Parse(Json($$"""{ 'logging': { 'level': '{{level}}' } }"""), _dir.Path, Env);

        Assert.Equal(expected, config.LoggingLevel);
    }

    [Fact]
    public void Durations_and_ssl_modes_parse()
    {
        var config = GatewayConfig.Parse(Json("""
            {
              'shutdownTimeout': '00:00:00',
              'postgres': {
                'limits': { 'handshakeTimeout': '00:01:30', 'connectTimeout': '1.00:00:00.5', 'maxFrameBytes': 4096, 'maxInspectedFrameBytes': 4096 },
                'targets': [
                  { 'name': 'a', 'host': 'h', 'username': 'u', 'sslMode': 'disable' },
                  { 'name': 'b', 'host': 'h', 'username': 'u', 'sslMode': 'require' },
                  { 'name': 'c', 'host': 'h', 'username': 'u', 'sslMode': 'verify-full' }
                ]
              }
            }
            """), _dir.Path, Env);

        Assert.Equal(TimeSpan.Zero, config.ShutdownTimeout);
        var pg = config.Postgres!;
        Assert.Equal(TimeSpan.FromSeconds(90), pg.Limits.HandshakeTimeout);
        Assert.Equal(TimeSpan.FromDays(1) + TimeSpan.FromMilliseconds(500), pg.Limits.ConnectTimeout);
        Assert.Equal(4096, pg.Limits.MaxFrameBytes);
        Assert.Equal([PgSslMode.Disable, PgSslMode.Require, PgSslMode.VerifyFull], pg.Targets.Select(t => t.SslMode));
        Assert.Empty(pg.Targets[2].SslRootCertificates); // verify-full without sslRootCert: system store
    }

    [Fact]
    public void File_secret_is_read_relative_to_the_config_directory()
    {
        _dir.Write(Path.Combine("secrets", "db-password"), "from-a-file\n");
        _dir.Write(Path.Combine("secrets", "token"), "token-from-file\r\n");
        var configPath = _dir.Write("gateway.json", Json("""
            {
              'identity': { 'tokens': [ { 'token': 'file:secrets/token', 'subject': 'bob' } ] },
              'postgres': { 'targets': [ { 'name': 'db', 'host': 'h', 'username': 'u', 'password': 'file:secrets/db-password' } ] }
            }
            """));

        var config = GatewayConfig.Load(configPath, Env);

        Assert.Equal("from-a-file", config.Postgres!.Targets[0].Password);
        Assert.Equal("token-from-file", config.Tokens[0].Token);
    }

    [Fact]
    public void Literal_and_env_secrets_resolve()
    {
        var config = GatewayConfig.Parse(Json("""
            { 'identity': { 'tokens': [
                { 'token': 'literal-token', 'subject': 'a' },
                { 'token': 'env:APP_DB_PASSWORD', 'subject': 'b', 'groups': ['g1', 'g2'] } ] } }
            """), _dir.Path, Env);

        Assert.Equal(["literal-token", "app-db-secret"], config.Tokens.Select(t => t.Token));
        Assert.Equal(["g1", "g2"], config.Tokens[1].Groups);
    }

    [Fact]
    public void Jwks_file_resolves_to_an_absolute_path()
    {
        var jwks = _dir.Write(Path.Combine("keys", "jwks.json"), """{"keys":[]}""");

        var config = GatewayConfig.Parse(Json("""
            { 'identity': { 'oidc': { 'issuer': 'http://idp.local', 'audience': 'wire', 'jwksFile': 'keys/jwks.json',
                                      'requireHttpsMetadata': false, 'subjectClaim': 'email', 'groupsClaim': 'roles' } } }
            """), _dir.Path, Env);

        var oidc = config.Oidc!;
        Assert.Equal(jwks, oidc.JwksFile);
        Assert.False(oidc.RequireHttpsMetadata);
        Assert.Equal("email", oidc.SubjectClaim);
        Assert.Equal("roles", oidc.GroupsClaim);
    }

    [Fact]
    public void Oidc_discovery_defaults()
    {
        var config = GatewayConfig.Parse(Json("""
            { 'identity': { 'oidc': { 'issuer': 'https://idp.example', 'audience': 'wire', 'metadataAddress': 'https://idp.example/meta' } } }
            """), _dir.Path, Env);

        var oidc = config.Oidc!;
        Assert.Null(oidc.JwksFile);
        Assert.Equal("https://idp.example/meta", oidc.MetadataAddress);
        Assert.True(oidc.RequireHttpsMetadata);
        Assert.Equal("sub", oidc.SubjectClaim);
        Assert.Equal("groups", oidc.GroupsClaim);
    }

    [Fact]
    public void Users_and_ssh_ca_are_carried()
    {
        var key = SshEd25519Key();
        var config = GatewayConfig.Parse(Json($$"""
            { 'identity': {
                'users': [ { 'subject': 'alice', 'groups': ['eng'], 'sshKeys': [ '{{key}} alice@laptop', 'no-pty,from=\'10.0.0.1\' {{key}}' ] },
                           { 'subject': 'bob' } ],
                'sshCa': [ '{{key}} ca' ] } }
            """), _dir.Path, Env);

        Assert.Equal(2, config.Users.Count);
        Assert.Equal("alice", config.Users[0].Subject);
        Assert.Equal(["eng"], config.Users[0].Groups);
        Assert.Equal($"{key} alice@laptop", config.Users[0].SshKeys[0]);
        Assert.Empty(config.Users[1].SshKeys);
        Assert.Equal([$"{key} ca"], config.SshCertificateAuthorities);
    }

    [Fact]
    public void Ssh_targets_forward_tcp_both_ways_unless_told_otherwise()
    {
        _dir.Write("known_hosts", "");
        var config = GatewayConfig.Parse(Json("""
            { 'ssh': { 'hostKeys': ['host_key'], 'targets': [
                { 'name': 'a', 'host': '127.0.0.1', 'username': 'u', 'password': 'p', 'knownHosts': 'known_hosts' },
                { 'name': 'b', 'host': '127.0.0.1', 'username': 'u', 'password': 'p', 'knownHosts': 'known_hosts', 'forwarding': ['agent', 'streamlocal'] },
                { 'name': 'c', 'host': '127.0.0.1', 'username': 'u', 'password': 'p', 'knownHosts': 'known_hosts', 'forwarding': [] } ] } }
            """), _dir.Path, Env);

        var targets = config.Ssh!.Proxy.Targets;
        Assert.Equal(Wire.Ssh.Proxy.SshForwarding.Local | Wire.Ssh.Proxy.SshForwarding.Remote, targets[0].Forwarding);
        Assert.Equal(Wire.Ssh.Proxy.SshForwarding.Agent | Wire.Ssh.Proxy.SshForwarding.StreamLocal, targets[1].Forwarding);
        Assert.Equal(Wire.Ssh.Proxy.SshForwarding.None, targets[2].Forwarding);
    }

    /// <summary>An OpenSSH <c>ssh-ed25519 BASE64</c> public key text.</summary>
    internal static string SshEd25519Key()
    {
        var type = "ssh-ed25519"u8;
        var blob = new List<byte>();
        blob.AddRange([0, 0, 0, (byte)type.Length]);
        blob.AddRange(type.ToArray());
        blob.AddRange([0, 0, 0, 32]);
        blob.AddRange(RandomNumberGenerator.GetBytes(32));
        return "ssh-ed25519 " + Convert.ToBase64String(blob.ToArray());
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Wire.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Wire.sln not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void Load_missing_file_is_a_config_error()
    {
        var path = Path.Combine(_dir.Path, "nope.json");

        var e = Assert.Throws<ConfigException>(() => GatewayConfig.Load(path, Env));

        Assert.Equal($"{path}: config file does not exist", e.Message);
    }

    [Fact]
    public void Secret_file_contents_keep_inner_text()
    {
        _dir.Write("pw", "a b\tc\n\n");

        var config = GatewayConfig.Parse(Json("""
            { 'postgres': { 'targets': [ { 'name': 'db', 'host': 'h', 'username': 'u', 'password': 'file:pw' } ] } }
            """), _dir.Path, Env);

        Assert.Equal("a b\tc", config.Postgres!.Targets[0].Password);
        Assert.Equal(Encoding.UTF8.GetByteCount("a b\tc"), config.Postgres.Targets[0].Password!.Length);
    }
}
