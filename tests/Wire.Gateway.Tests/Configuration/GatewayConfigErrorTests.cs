using Wire.Hosting.Configuration;
using static Wire.Gateway.Tests.Configuration.GatewayConfigTests;

namespace Wire.Gateway.Tests.Configuration;

public sealed class GatewayConfigErrorTests : IDisposable
{
    private const string Target = "{ 'name': 'db', 'host': 'h', 'username': 'u' }";

    private readonly TempConfigDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private ConfigException Fail(string json)
    {
        var e = Assert.Throws<ConfigException>(() => GatewayConfig.Parse(Json(json), _dir.Path, Env));
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain('\r', e.Message);
        return e;
    }

    private static string Pg(string postgresBody) => $"{{ 'postgres': {{ {postgresBody} }} }}";

    private static string PgTarget(string extraTargetKeys) =>
        Pg($"'targets': [ {{ 'name': 'db', 'host': 'h', 'username': 'u', {extraTargetKeys} }} ]");

    [Theory]
    [InlineData("{ 'rules2': [] }", "rules2: unknown key")]
    [InlineData("{ 'postgres': { 'listen2': '127.0.0.1:1', 'targets': [" + Target + "] } }", "postgres.listen2: unknown key")]
    [InlineData("{ 'postgres': { 'targets': [" + Target + ", { 'name': 'b', 'host': 'h', 'username': 'u', 'pasword': 'x' }] } }",
        "postgres.targets[1].pasword: unknown key")]
    [InlineData("{ 'postgres': { 'limits': { 'maxFrames': 1 }, 'targets': [" + Target + "] } }", "postgres.limits.maxFrames: unknown key")]
    [InlineData("{ 'postgres': { 'tls': { 'cert': 'a' }, 'targets': [" + Target + "] } }", "postgres.tls.cert: unknown key")]
    [InlineData("{ 'identity': { 'token': [] } }", "identity.token: unknown key")]
    [InlineData("{ 'identity': { 'tokens': [ { 'token': 't', 'subject': 's', 'group': 'g' } ] } }", "identity.tokens[0].group: unknown key")]
    [InlineData("{ 'identity': { 'users': [ { 'subject': 's', 'keys': [] } ] } }", "identity.users[0].keys: unknown key")]
    [InlineData("{ 'identity': { 'oidc': { 'issuer': 'https://i', 'audience': 'a', 'clientSecret': 'x' } } }",
        "identity.oidc.clientSecret: unknown key")]
    [InlineData("{ 'logging': { 'level': 'debug', 'format': 'json' } }", "logging.format: unknown key")]
    [InlineData("{ 'a b': 1 }", "[\"a b\"]: unknown key")]
    [InlineData("{ 'logging': { 'x\\ny': 1 } }", "logging[\"x\\u000ay\"]: unknown key")]
    public void Unknown_keys_are_named(string json, string message) => Assert.Equal(message, Fail(json).Message);

    [Fact]
    public void Duplicate_keys_are_named() =>
        Assert.Equal("logging.level: duplicate key", Fail("{ 'logging': { 'level': 'debug', 'level': 'error' } }").Message);

    [Theory]
    [InlineData("[]", "(root): must be a JSON object")]
    [InlineData("{ 'identity': [] }", "identity: must be an object")]
    [InlineData("{ 'identity': { 'tokens': {} } }", "identity.tokens: must be an array")]
    [InlineData("{ 'identity': { 'tokens': [ 'alice-token' ] } }", "identity.tokens[0]: must be an object")]
    [InlineData("{ 'identity': { 'tokens': [ { 'token': 't', 'subject': 's', 'groups': 'eng' } ] } }", "identity.tokens[0].groups: must be an array")]
    [InlineData("{ 'identity': { 'tokens': [ { 'token': 't', 'subject': 's', 'groups': ['a', 1] } ] } }",
        "identity.tokens[0].groups[1]: must be a string")]
    [InlineData("{ 'identity': { 'tokens': [ { 'token': 't', 'subject': 42 } ] } }", "identity.tokens[0].subject: must be a string")]
    [InlineData("{ 'identity': { 'tokens': [ { 'token': 't', 'subject': '' } ] } }", "identity.tokens[0].subject: must not be empty")]
    [InlineData("{ 'identity': { 'tokens': [ { 'token': 7, 'subject': 's' } ] } }",
        "identity.tokens[0].token: must be a string (a literal, env:NAME or file:PATH)")]
    [InlineData("{ 'identity': { 'oidc': { 'issuer': 'https://i', 'audience': 'a', 'requireHttpsMetadata': 'yes' } } }",
        "identity.oidc.requireHttpsMetadata: must be true or false")]
    [InlineData("{ 'postgres': { 'listen': 6432, 'targets': [" + Target + "] } }", "postgres.listen: must be a string")]
    [InlineData("{ 'postgres': { 'allowCleartextWithoutTls': 1, 'targets': [" + Target + "] } }",
        "postgres.allowCleartextWithoutTls: must be true or false")]
    [InlineData("{ 'postgres': { 'targets': {} } }", "postgres.targets: must be an array")]
    [InlineData("{ 'postgres': { 'limits': [], 'targets': [" + Target + "] } }", "postgres.limits: must be an object")]
    [InlineData("{ 'logging': 'debug' }", "logging: must be an object")]
    [InlineData("{ 'postgres': { 'proxyProtocol': 'v2', 'targets': [" + Target + "] } }", "postgres.proxyProtocol: must be true or false")]
    [InlineData("{ 'state': { 'redis': 'x' } }", "state.redis: unknown key")]
    [InlineData("{ 'state': { } }", "state.postgres: required")]
    [InlineData("{ 'state': { 'postgres': 42 } }", "state.postgres: must be a string (a literal, env:NAME or file:PATH)")]
    [InlineData("{ 'state': { 'postgres': 'Username=wire;Password=secret-pw' } }",
        "state.postgres: is not a PostgreSQL connection string with a Host (Host=...;Username=...;Password=...;Database=...)")]
    [InlineData("{ 'state': { 'postgres': 'Host=db;Colour=blue;Password=secret-pw' } }",
        "state.postgres: is not a PostgreSQL connection string with a Host (Host=...;Username=...;Password=...;Database=...)")]
    public void Wrong_types_are_named(string json, string message) => Assert.Equal(message, Fail(json).Message);

    [Theory]
    [InlineData("'port': 0")]
    [InlineData("'port': 65536")]
    [InlineData("'port': -1")]
    [InlineData("'port': '5432'")]
    [InlineData("'port': 5432.5")]
    [InlineData("'port': 1e3")]
    [InlineData("'port': true")]
    public void Bad_target_port_is_named(string port) =>
        Assert.Equal("postgres.targets[1].port: must be an integer from 1 to 65535",
            Fail(Pg($"'targets': [ {Target}, {{ 'name': 'b', 'host': 'h', 'username': 'u', {port} }} ]")).Message);

    [Theory]
    [InlineData("'maxFrameBytes': 1023", "postgres.limits.maxFrameBytes: must be an integer from 1024 to 2147483643")]
    [InlineData("'maxFrameBytes': 4294967296", "postgres.limits.maxFrameBytes: must be an integer from 1024 to 2147483643")]
    [InlineData("'maxInspectedFrameBytes': 0", "postgres.limits.maxInspectedFrameBytes: must be an integer from 1024 to 2147483643")]
    [InlineData("'maxFrameBytes': 4096, 'maxInspectedFrameBytes': 8192",
        "postgres.limits.maxInspectedFrameBytes: must not exceed postgres.limits.maxFrameBytes")]
    public void Bad_sizes_are_named(string limits, string message) =>
        Assert.Equal(message, Fail(Pg($"'limits': {{ {limits} }}, 'targets': [ {Target} ]")).Message);

    [Theory]
    [InlineData("30")]
    [InlineData("30s")]
    [InlineData("0:30")]
    [InlineData("00:00:00")]
    [InlineData("-00:00:05")]
    [InlineData("00:60:00")]
    [InlineData("")]
    public void Bad_limit_duration_is_named(string value) =>
        Assert.Equal("postgres.limits.handshakeTimeout: must be a duration hh:mm:ss greater than zero",
            Fail(Pg($"'limits': {{ 'handshakeTimeout': '{value}' }}, 'targets': [ {Target} ]")).Message);

    [Theory]
    [InlineData("'30s'")]
    [InlineData("30")]
    [InlineData("'-00:00:01'")]
    public void Bad_shutdown_timeout_is_named(string value) =>
        Assert.Equal("shutdownTimeout: must be a duration hh:mm:ss", Fail($"{{ 'shutdownTimeout': {value} }}").Message);

    [Theory]
    [InlineData("verify-ca")]
    [InlineData("Prefer")]
    [InlineData("allow")]
    public void Bad_ssl_mode_is_named(string mode) =>
        Assert.Equal("postgres.targets[0].sslMode: must be one of disable, prefer, require, verify-full",
            Fail(PgTarget($"'sslMode': '{mode}'")).Message);

    [Fact]
    public void Bad_log_level_is_named() =>
        Assert.Equal("logging.level: must be one of trace, debug, information, warning, error, critical, none",
            Fail("{ 'logging': { 'level': 'info' } }").Message);

    [Theory]
    [InlineData("{ 'identity': { 'tokens': [ { 'subject': 's' } ] } }", "identity.tokens[0].token: required")]
    [InlineData("{ 'identity': { 'tokens': [ { 'token': 't' } ] } }", "identity.tokens[0].subject: required")]
    [InlineData("{ 'identity': { 'tokens': [ { 'token': 't', 'subject': null } ] } }", "identity.tokens[0].subject: required")]
    [InlineData("{ 'identity': { 'users': [ { 'groups': [] } ] } }", "identity.users[0].subject: required")]
    [InlineData("{ 'identity': { 'oidc': { 'audience': 'a' } } }", "identity.oidc.issuer: required")]
    [InlineData("{ 'identity': { 'oidc': { 'issuer': 'https://i' } } }", "identity.oidc.audience: required")]
    [InlineData("{ 'postgres': { } }", "postgres.targets: at least one target is required")]
    [InlineData("{ 'postgres': { 'targets': [] } }", "postgres.targets: at least one target is required")]
    [InlineData("{ 'postgres': { 'targets': [ { 'host': 'h', 'username': 'u' } ] } }", "postgres.targets[0].name: required")]
    [InlineData("{ 'postgres': { 'targets': [ { 'name': 'n', 'username': 'u' } ] } }", "postgres.targets[0].host: required")]
    [InlineData("{ 'postgres': { 'targets': [ { 'name': 'n', 'host': 'h' } ] } }", "postgres.targets[0].username: required")]
    [InlineData("{ 'postgres': { 'tls': { 'key': 'k.pem' }, 'targets': [" + Target + "] } }", "postgres.tls.certificate: required")]
    public void Missing_required_keys_are_named(string json, string message) => Assert.Equal(message, Fail(json).Message);

    [Fact]
    public void Duplicate_target_name_is_named() =>
        Assert.Equal("postgres.targets[2].name: same name as postgres.targets[0]",
            Fail(Pg($"'targets': [ {Target}, {{ 'name': 'other', 'host': 'h', 'username': 'u' }}, {Target} ]")).Message);

    [Fact]
    public void Duplicate_token_is_named_without_the_token()
    {
        var e = Fail("""
            { 'identity': { 'tokens': [
                { 'token': 'super-secret-token', 'subject': 'a' },
                { 'token': 'other', 'subject': 'b' },
                { 'token': 'super-secret-token', 'subject': 'c' } ] } }
            """);

        Assert.Equal("identity.tokens[2].token: same token as identity.tokens[0]", e.Message);
        Assert.DoesNotContain("super-secret-token", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_token_through_env_is_detected()
    {
        var e = Fail("""
            { 'identity': { 'tokens': [ { 'token': 'app-db-secret', 'subject': 'a' }, { 'token': 'env:APP_DB_PASSWORD', 'subject': 'b' } ] } }
            """);

        Assert.Equal("identity.tokens[1].token: same token as identity.tokens[0]", e.Message);
        Assert.DoesNotContain("app-db-secret", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_user_subject_is_named() =>
        Assert.Equal("identity.users[1].subject: same subject as identity.users[0]",
            Fail("{ 'identity': { 'users': [ { 'subject': 'a' }, { 'subject': 'a' } ] } }").Message);

    [Theory]
    [InlineData("'env:MISSING_VAR'", "postgres.targets[0].password: environment variable MISSING_VAR is not set")]
    [InlineData("'env:'", "postgres.targets[0].password: env: must be followed by an environment variable name")]
    [InlineData("'file:'", "postgres.targets[0].password: file: must be followed by a path")]
    [InlineData("''", "postgres.targets[0].password: must not be empty")]
    public void Bad_secret_is_named(string password, string message) =>
        Assert.Equal(message, Fail(PgTarget($"'password': {password}")).Message);

    [Fact]
    public void Empty_env_secret_is_named()
    {
        var e = Assert.Throws<ConfigException>(() => GatewayConfig.Parse(
            Json("{ 'identity': { 'tokens': [ { 'token': 'env:T', 'subject': 's' } ] } }"), _dir.Path, _ => string.Empty));

        Assert.Equal("identity.tokens[0].token: environment variable T is empty", e.Message);
    }

    [Fact]
    public void Missing_secret_file_is_named_with_its_resolved_path() =>
        Assert.Equal($"identity.tokens[0].token: file {Path.Combine(_dir.Path, "secrets", "t")} does not exist",
            Fail("{ 'identity': { 'tokens': [ { 'token': 'file:secrets/t', 'subject': 's' } ] } }").Message);

    [Fact]
    public void Empty_secret_file_is_named()
    {
        _dir.Write("t", "\n");

        Assert.Equal($"identity.tokens[0].token: file {Path.Combine(_dir.Path, "t")} is empty",
            Fail("{ 'identity': { 'tokens': [ { 'token': 'file:t', 'subject': 's' } ] } }").Message);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:")]
    [InlineData(":6432")]
    [InlineData("example.com:6432")]
    [InlineData("127.1:6432")]
    [InlineData("::1:6432")]
    [InlineData("[::1]6432")]
    [InlineData("[127.0.0.1]:6432")]
    [InlineData("127.0.0.1:65536")]
    [InlineData("127.0.0.1:+80")]
    [InlineData("127.0.0.1:-1")]
    public void Bad_listen_is_named(string listen) =>
        Assert.Equal("postgres.listen: must be host:port or [ipv6]:port with an IP address or localhost and a port from 0 to 65535",
            Fail(Pg($"'listen': '{listen}', 'targets': [ {Target} ]")).Message);

    [Theory]
    [InlineData("'host': 'bad host'")]
    [InlineData("'host': 'a/b'")]
    public void Bad_target_host_is_named(string host) =>
        Assert.Equal("postgres.targets[0].host: must be a host name or an IP address",
            Fail(Pg($"'targets': [ {{ 'name': 'n', 'username': 'u', {host} }} ]")).Message);

    [Fact]
    public void Missing_cert_file_is_named()
    {
        _dir.Write("server.key", "not used");

        var e = Fail(Pg($"'tls': {{ 'certificate': 'server.crt', 'key': 'server.key' }}, 'targets': [ {Target} ]"));

        Assert.Equal($"postgres.tls.certificate: file {Path.Combine(_dir.Path, "server.crt")} does not exist", e.Message);
    }

    [Fact]
    public void Missing_key_file_is_named()
    {
        _dir.Write("server.crt", "not used");

        var e = Fail(Pg($"'tls': {{ 'certificate': 'server.crt', 'key': 'server.key' }}, 'targets': [ {Target} ]"));

        Assert.Equal($"postgres.tls.key: file {Path.Combine(_dir.Path, "server.key")} does not exist", e.Message);
    }

    [Fact]
    public void Missing_jwks_file_is_named() =>
        Assert.Equal($"identity.oidc.jwksFile: file {Path.Combine(_dir.Path, "jwks.json")} does not exist",
            Fail("{ 'identity': { 'oidc': { 'issuer': 'https://i', 'audience': 'a', 'jwksFile': 'jwks.json' } } }").Message);

    [Theory]
    [InlineData("'issuer': 'idp.example', 'audience': 'a'", "identity.oidc.issuer: must be an absolute http or https URL")]
    [InlineData("'issuer': 'https://i', 'audience': 'a', 'metadataAddress': 'ftp://x'",
        "identity.oidc.metadataAddress: must be an absolute http or https URL")]
    [InlineData("'issuer': 'http://idp', 'audience': 'a'",
        "identity.oidc.issuer: must be an https URL when requireHttpsMetadata is true and no jwksFile is given")]
    [InlineData("'issuer': 'https://idp', 'audience': 'a', 'metadataAddress': 'http://idp/meta'",
        "identity.oidc.metadataAddress: must be an https URL when requireHttpsMetadata is true and no jwksFile is given")]
    public void Bad_oidc_addresses_are_named(string body, string message) =>
        Assert.Equal(message, Fail($"{{ 'identity': {{ 'oidc': {{ {body} }} }} }}").Message);

    [Fact]
    public void Root_cert_with_a_non_verifying_ssl_mode_is_named()
    {
        _dir.Write("ca.crt", "unused");

        Assert.Equal("postgres.targets[0].sslRootCert: is only used with sslMode verify-full",
            Fail(PgTarget("'sslMode': 'prefer', 'sslRootCert': 'ca.crt'")).Message);
    }

    [Fact]
    public void Root_cert_file_without_certificates_is_named()
    {
        var path = _dir.Write("ca.crt", "hello\n");

        Assert.Equal($"postgres.targets[0].sslRootCert: file {path} holds no PEM certificate",
            Fail(PgTarget("'sslMode': 'verify-full', 'sslRootCert': 'ca.crt'")).Message);
    }

    [Theory]
    [InlineData("ssh-ed25519")]
    [InlineData("ssh-ed25519 not-base64!")]
    [InlineData("ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl")]
    public void Bad_ssh_key_lines_are_named(string line)
    {
        Assert.Equal("identity.users[0].sshKeys[0]: must be an authorized_keys line: [options] type base64-key [comment]",
            Fail($"{{ 'identity': {{ 'users': [ {{ 'subject': 's', 'sshKeys': [ '{line}' ] }} ] }} }}").Message);
        Assert.Equal("identity.sshCa[0]: must be an OpenSSH public key: type base64-key [comment]",
            Fail($"{{ 'identity': {{ 'sshCa': [ '{line}' ] }} }}").Message);
    }

    [Fact]
    public void Invalid_json_reports_the_position_only()
    {
        var e = Fail("{\n  'postgres': hunter2\n}");

        Assert.Equal("config: invalid JSON at line 2, byte 15", e.Message);
        Assert.DoesNotContain("hunter2", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_ssh_forwarding_kinds_are_named()
    {
        _dir.Write("known_hosts", "");
        var e = Fail("""
            { 'ssh': { 'hostKeys': ['host_key'], 'targets': [ { 'name': 'app', 'host': '127.0.0.1', 'username': 'u', 'password': 'p',
                'knownHosts': 'known_hosts', 'forwarding': ['local', 'agnet'] } ] } }
            """);
        Assert.Equal("ssh.targets[0].forwarding[1]: unknown kind 'agnet' (expected local, remote, agent, x11, streamlocal)", e.Message);
    }

    [Fact]
    public void Invalid_json_in_a_file_names_the_file()
    {
        var path = _dir.Write("gateway.json", "{ \"logging\": ");

        var e = Assert.Throws<ConfigException>(() => GatewayConfig.Load(path, Env));

        Assert.StartsWith($"{path}: invalid JSON at line 1", e.Message, StringComparison.Ordinal);
    }
}
