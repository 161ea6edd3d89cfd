using Wire.Testing;
using System.Security.Cryptography;
using Npgsql;
using Wire.Gateway.Demo;

namespace Wire.Postgres.Tests.Infrastructure;

/// <summary>The xunit collection that shares one <see cref="PostgresFixture"/> server.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    /// <summary>The collection name for <c>[Collection(PostgresCollection.Name)]</c>.</summary>
    public const string Name = "postgres";
}

/// <summary>
/// One throwaway PostgreSQL server (TLS on, certificate from <see cref="TestCertificates.Shared"/>) shared by the
/// "postgres" collection, with database <c>app</c> and one login role per authentication method.
/// </summary>
/// <remarks>
/// pg_hba.conf, first match wins:
/// <code>
/// hostnossl all app_tlsonly 127.0.0.1/32 reject
/// hostssl   all app_tlsonly 127.0.0.1/32 scram-sha-256
/// hostssl   all app_scram   127.0.0.1/32 scram-sha-256
/// host      all app_scram   127.0.0.1/32 scram-sha-256
/// host      all app_md5     127.0.0.1/32 md5
/// host      all app_password 127.0.0.1/32 password
/// host      all wire_admin  127.0.0.1/32 trust
/// host      all all         127.0.0.1/32 scram-sha-256   (roles that tests create themselves)
/// </code>
/// </remarks>
public sealed class PostgresFixture : IAsyncLifetime
{
    /// <summary>The database the app_* roles share.</summary>
    public const string Database = "app";

    /// <summary>Role that logs in with SCRAM-SHA-256, with or without TLS.</summary>
    public const string ScramUser = "app_scram";

    /// <summary>Role whose password is stored as MD5 and that logs in with the md5 method.</summary>
    public const string Md5User = "app_md5";

    /// <summary>Role that logs in with the cleartext <c>password</c> method.</summary>
    public const string CleartextUser = "app_password";

    /// <summary>Role that logs in with SCRAM-SHA-256 over TLS only; plain connections are rejected.</summary>
    public const string TlsOnlyUser = "app_tlsonly";

    private LocalPostgresServer? _server;
    private string? _tempDirectory;

    /// <summary>The running server.</summary>
    internal LocalPostgresServer Server => _server ?? throw new InvalidOperationException("The fixture is not initialized.");

    /// <summary>The CA that issued the server certificate (trust anchor for VerifyCA/VerifyFull).</summary>
    public TestCertificates Ca => TestCertificates.Shared;

    /// <summary>The server's certificate (SANs localhost and 127.0.0.1).</summary>
    public TestCertificates.IssuedCertificate ServerCertificate { get; private set; } = null!;

    /// <summary>A file holding <see cref="Ca"/>'s certificate as PEM (Npgsql <c>Root Certificate</c>, psql <c>sslrootcert</c>).</summary>
    public string CaPemPath { get; private set; } = string.Empty;

    /// <summary>The server's host (127.0.0.1).</summary>
    public string Host => Server.Host;

    /// <summary>The server's port.</summary>
    public int Port => Server.Port;

    /// <summary>The superuser (trust auth from 127.0.0.1).</summary>
    public string SuperUser => Server.SuperUser;

    /// <summary>Password of <see cref="ScramUser"/>.</summary>
    public string ScramPassword { get; } = NewPassword();

    /// <summary>Password of <see cref="Md5User"/>.</summary>
    public string Md5Password { get; } = NewPassword();

    /// <summary>Password of <see cref="CleartextUser"/>.</summary>
    public string CleartextPassword { get; } = NewPassword();

    /// <summary>Password of <see cref="TlsOnlyUser"/>.</summary>
    public string TlsOnlyPassword { get; } = NewPassword();

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        _tempDirectory = Directory.CreateTempSubdirectory("wire-pg-fixture-").FullName;
        CaPemPath = Ca.WritePem(Path.Combine(_tempDirectory, "ca.pem"));
        ServerCertificate = Ca.IssueServerCertificate();

        var options = new LocalPostgresServerOptions
        {
            TlsCertificatePem = ServerCertificate.CertificatePem,
            TlsKeyPem = ServerCertificate.PrivateKeyPem,
        };
        options.HbaLines.Add($"hostnossl all {TlsOnlyUser} 127.0.0.1/32 reject");
        options.HbaLines.Add($"hostssl all {TlsOnlyUser} 127.0.0.1/32 scram-sha-256");
        options.HbaLines.Add($"hostssl all {ScramUser} 127.0.0.1/32 scram-sha-256");
        options.HbaLines.Add($"host all {ScramUser} 127.0.0.1/32 scram-sha-256");
        options.HbaLines.Add($"host all {Md5User} 127.0.0.1/32 md5");
        options.HbaLines.Add($"host all {CleartextUser} 127.0.0.1/32 password");
        options.HbaLines.Add($"host all {options.SuperUser} 127.0.0.1/32 trust");
        options.HbaLines.Add("host all all 127.0.0.1/32 scram-sha-256");

        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        _server = await LocalPostgresServer.StartAsync(options, cts.Token);

        string[] roles = [ScramUser, Md5User, CleartextUser, TlsOnlyUser];
        var grantees = string.Join(", ", roles);
        await _server.PsqlAsync(
            $"""
            SET password_encryption = 'scram-sha-256';
            CREATE ROLE {ScramUser} LOGIN PASSWORD '{ScramPassword}';
            CREATE ROLE {CleartextUser} LOGIN PASSWORD '{CleartextPassword}';
            CREATE ROLE {TlsOnlyUser} LOGIN PASSWORD '{TlsOnlyPassword}';
            SET password_encryption = 'md5';
            CREATE ROLE {Md5User} LOGIN PASSWORD '{Md5Password}';
            CREATE DATABASE {Database};
            GRANT ALL ON DATABASE {Database} TO {grantees};
            """,
            "postgres",
            cts.Token);
        await _server.PsqlAsync(
            $"""
            GRANT ALL ON SCHEMA public TO {grantees};
            ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO {grantees};
            ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO {grantees};
            """,
            Database,
            cts.Token);
    }

    /// <summary>A connection string straight to the server (no proxy), pooling off.</summary>
    public string ConnectionString(string user, string password, string database = Database, SslMode sslMode = SslMode.Prefer)
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = Host,
            Port = Port,
            Database = database,
            Username = user,
            Password = password,
            SslMode = sslMode,
            Pooling = false,
            Timeout = 15,
        };
        if (sslMode is SslMode.VerifyCA or SslMode.VerifyFull)
        {
            builder.RootCertificate = CaPemPath;
        }

        return builder.ConnectionString;
    }

    /// <summary>Opens a connection straight to the server (no proxy). VerifyCA/VerifyFull trust <see cref="Ca"/>.</summary>
    public NpgsqlConnection OpenDirect(string user, string password, string database = Database, SslMode sslMode = SslMode.Prefer)
    {
        var connection = new NpgsqlConnection(ConnectionString(user, password, database, sslMode));
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        ServerCertificate?.Dispose();
        if (_tempDirectory is not null && Directory.Exists(_tempDirectory))
        {
            Directory.Delete(_tempDirectory, recursive: true);
        }
    }

    // Alphanumeric only: safe inside SQL literals, connection strings and shell-free argv alike.
    private static string NewPassword() =>
        RandomNumberGenerator.GetString("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", 32);
}
