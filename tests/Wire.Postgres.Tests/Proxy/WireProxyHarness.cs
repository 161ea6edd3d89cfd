using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Npgsql;
using Wire.Enforcement;
using Wire.Enforcement.Identity;
using Wire.Postgres.Proxy;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Testing;

namespace Wire.Postgres.Tests.Proxy;

/// <summary>
/// A <see cref="PgProxyServer"/> on 127.0.0.1:0 in front of the <see cref="PostgresFixture"/> server, with helpers to
/// reach it with Npgsql, psql and pgbench. Default: target "app" -> the fixture's database app as
/// <see cref="PostgresFixture.ScramUser"/> (SslMode Disable); static token "alice-token" for subject "alice".
/// </summary>
internal sealed class WireProxyHarness : IAsyncDisposable
{
    public const string Token = "alice-token";
    public const string Subject = "alice";
    public const string TargetName = "app";

    private readonly PgProxyServer _server;
    private readonly ILoggerFactory _loggerFactory;
    private int _disposed;

    private WireProxyHarness(PostgresFixture fixture, PgProxyOptions options, PgProxyServer server, ILoggerFactory loggerFactory, ListLoggerProvider logs)
    {
        Fixture = fixture;
        Options = options;
        _server = server;
        _loggerFactory = loggerFactory;
        Logs = logs;
    }

    public PostgresFixture Fixture { get; }

    public PgProxyOptions Options { get; }

    /// <summary>The port Wire listens on (127.0.0.1).</summary>
    public int Port => _server.LocalEndPoint.Port;

    /// <summary>Connections Wire has open now, handshakes included.</summary>
    public int ActiveConnections => _server.ActiveConnections;

    /// <summary>What the proxy logged (handy in assertion messages).</summary>
    public ListLoggerProvider Logs { get; }

    /// <summary>Starts Wire. <paramref name="configure"/> sees the options with the default target already added.</summary>
    /// <remarks>
    /// Without <paramref name="enforcement"/>, <c>WIRE_TEST_ENFORCE=1</c> in the environment still runs sessions through the
    /// enforcing pumps (with no rules), so the whole proxy suite also proves that inspection changes nothing a client sees.
    /// </remarks>
    public static WireProxyHarness Start(
        PostgresFixture fixture,
        Action<PgProxyOptions>? configure = null,
        IIdentityValidator? identityValidator = null,
        WireEnforcement? enforcement = null)
    {
        enforcement ??= Environment.GetEnvironmentVariable("WIRE_TEST_ENFORCE") == "1" ? new WireEnforcement() : null;
        var options = new PgProxyOptions { Listen = new IPEndPoint(IPAddress.Loopback, 0) };
        options.Targets.Add(Target(fixture));
        configure?.Invoke(options);

        var logs = new ListLoggerProvider();
        var loggerFactory = LoggerFactory.Create(builder => builder.SetMinimumLevel(LogLevel.Debug).AddProvider(logs));
        var validator = identityValidator ?? new StaticTokenValidator([new StaticToken(Token, Subject, ["eng"])]);
        var server = new PgProxyServer(options, validator, loggerFactory, enforcement);
        server.Start();
        return new WireProxyHarness(fixture, options, server, loggerFactory, logs);
    }

    /// <summary>A target pointing at the fixture's server.</summary>
    public static PgTargetOptions Target(
        PostgresFixture fixture,
        string name = TargetName,
        string user = PostgresFixture.ScramUser,
        string? password = null,
        PgSslMode sslMode = PgSslMode.Disable,
        string database = PostgresFixture.Database,
        string? host = null,
        int? port = null) => new()
        {
            Name = name,
            Host = host ?? fixture.Host,
            Port = port ?? fixture.Port,
            Database = database,
            Username = user,
            Password = password ?? PasswordOf(fixture, user),
            SslMode = sslMode,
        };

    public static string PasswordOf(PostgresFixture fixture, string user) => user switch
    {
        PostgresFixture.ScramUser => fixture.ScramPassword,
        PostgresFixture.Md5User => fixture.Md5Password,
        PostgresFixture.CleartextUser => fixture.CleartextPassword,
        PostgresFixture.TlsOnlyUser => fixture.TlsOnlyPassword,
        _ => throw new ArgumentOutOfRangeException(nameof(user), user, null),
    };

    /// <summary>A fresh client-side builder: Host=127.0.0.1;Port;Username=alice;Password=alice-token;Database=app;Pooling=false;SslMode=Disable.</summary>
    public NpgsqlConnectionStringBuilder ClientBuilder() => new()
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = Subject,
        Password = Token,
        Database = TargetName,
        Pooling = false,
        SslMode = SslMode.Disable,
        Timeout = 15,
        CommandTimeout = 60,
    };

    /// <summary>Opens an Npgsql connection through Wire.</summary>
    public async Task<NpgsqlConnection> OpenClientAsync(Action<NpgsqlConnectionStringBuilder>? configure = null, CancellationToken ct = default)
    {
        var builder = ClientBuilder();
        configure?.Invoke(builder);
        var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync(ct);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>libpq environment for a client of Wire (PGHOST, PGPORT, PGUSER=alice, PGPASSWORD=token, PGDATABASE=app, PGSSLMODE=disable).</summary>
    public Dictionary<string, string> ClientEnvironment() => new(StringComparer.Ordinal)
    {
        ["PGHOST"] = "127.0.0.1",
        ["PGPORT"] = Port.ToString(CultureInfo.InvariantCulture),
        ["PGUSER"] = Subject,
        ["PGPASSWORD"] = Token,
        ["PGDATABASE"] = TargetName,
        ["PGSSLMODE"] = "disable",
    };

    /// <summary>Runs /usr/bin/psql against Wire (connection from the environment; <paramref name="env"/> overrides).</summary>
    public Task<ProcessResult> RunPsqlAsync(
        IEnumerable<string> args, string? stdin = null, IReadOnlyDictionary<string, string>? env = null, TimeSpan? timeout = null)
        => PgTools.RunAsync(PgTools.Psql, args, stdin, Merge(ClientEnvironment(), env), timeout ?? TimeSpan.FromSeconds(60));

    /// <summary>Runs /usr/bin/pgbench against Wire (connection from the environment; <paramref name="env"/> overrides).</summary>
    public Task<ProcessResult> RunPgbenchAsync(
        IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null, TimeSpan? timeout = null)
        => PgTools.RunAsync(PgTools.Pgbench, args, null, Merge(ClientEnvironment(), env), timeout ?? TimeSpan.FromSeconds(120));

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _server.DisposeAsync();
            _loggerFactory.Dispose();
        }
    }

    private static Dictionary<string, string> Merge(Dictionary<string, string> baseEnv, IReadOnlyDictionary<string, string>? overrides)
    {
        if (overrides is not null)
        {
            foreach (var (key, value) in overrides)
            {
                baseEnv[key] = value;
            }
        }

        return baseEnv;
    }
}

/// <summary>The outcome of a child process.</summary>
internal sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError)
{
    public override string ToString() => $"exit {ExitCode}{Environment.NewLine}stdout:{Environment.NewLine}{Tail(StandardOutput)}{Environment.NewLine}stderr:{Environment.NewLine}{Tail(StandardError)}";

    private static string Tail(string text) => text.Length <= 4000 ? text : "..." + text[^4000..];
}

/// <summary>Runs the PostgreSQL client tools with a clean environment and a hard timeout.</summary>
internal static class PgTools
{
    public static string Psql => Find("psql");

    public static string Pgbench => Find("pgbench");

    /// <summary>libpq environment for a direct connection to the fixture's server.</summary>
    public static Dictionary<string, string> DirectEnvironment(PostgresFixture fixture, string user, string? password, string database)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PGHOST"] = fixture.Host,
            ["PGPORT"] = fixture.Port.ToString(CultureInfo.InvariantCulture),
            ["PGUSER"] = user,
            ["PGDATABASE"] = database,
            ["PGSSLMODE"] = "disable",
        };
        if (password is not null)
        {
            env["PGPASSWORD"] = password;
        }

        return env;
    }

    public static async Task<ProcessResult> RunAsync(
        string fileName, IEnumerable<string> args, string? stdin, IReadOnlyDictionary<string, string> env, TimeSpan timeout)
    {
        // An empty stdin rather than the test runner's: a tool that wants to prompt gets end of input.
        var result = await Wire.Gateway.Demo.ToolProcess.RunAsync(fileName, args.ToList(), stdin ?? "", null, timeout, default, env);
        return new ProcessResult(result.ExitCode, result.StandardOutput, result.StandardError);
    }

    private static string Find(string tool)
    {
        var usrBin = Path.Combine("/usr/bin", tool);
        if (File.Exists(usrBin))
        {
            return usrBin;
        }

        var bin = Wire.Gateway.Demo.LocalPostgresServer.FindBinDirectory();
        return bin is not null && File.Exists(Path.Combine(bin, tool)) ? Path.Combine(bin, tool) : tool;
    }
}

/// <summary>Direct (no proxy) helpers against the fixture's server.</summary>
internal static class Direct
{
    /// <summary>Opens a superuser connection (trust auth) to <paramref name="database"/>.</summary>
    public static async Task<NpgsqlConnection> OpenSuperUserAsync(PostgresFixture fixture, string database = "postgres")
    {
        var connection = new NpgsqlConnection(fixture.ConnectionString(fixture.SuperUser, "unused", database, SslMode.Disable));
        await connection.OpenAsync();
        return connection;
    }

    public static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql, CancellationToken ct = default)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>Polls pg_stat_activity until <paramref name="predicate"/> holds for the count of backends with that application_name.</summary>
    public static async Task<bool> WaitForBackendCountAsync(
        PostgresFixture fixture, string applicationName, Func<long, bool> predicate, TimeSpan timeout)
    {
        await using var super = await OpenSuperUserAsync(fixture);
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE application_name = @a", super);
            command.Parameters.AddWithValue("a", applicationName);
            var count = (long)(await command.ExecuteScalarAsync())!;
            if (predicate(count))
            {
                return true;
            }

            if (stopwatch.Elapsed > timeout)
            {
                return false;
            }

            await Task.Delay(100);
        }
    }
}

