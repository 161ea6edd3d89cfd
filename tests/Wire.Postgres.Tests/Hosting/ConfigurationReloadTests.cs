using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Wire.Postgres.Tests.Infrastructure;
using Wire.Testing;

namespace Wire.Postgres.Tests.Hosting;

/// <summary>
/// A host that reads Wire's options from an appsettings file with <c>reloadOnChange</c>: when the file changes, rules and
/// identity take effect for the next statements and logins, as <c>wire run</c>'s file watch does; an invalid change keeps
/// what runs and is logged, and the host runs on.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ConfigurationReloadTests(PostgresFixture pg) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("wire-reload-test-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Settings(int port, string rules, string tokens) => $$"""
        {
          "Wire": {
            "identity": { "tokens": [ {{tokens}} ] },
            "postgres": {
              "listen": "127.0.0.1:{{port}}",
              "targets": [ { "name": "app", "host": "127.0.0.1", "port": {{pg.Port.ToString(CultureInfo.InvariantCulture)}},
                             "database": "{{PostgresFixture.Database}}", "username": "{{PostgresFixture.ScramUser}}",
                             "password": "{{pg.ScramPassword}}", "sslMode": "disable" } ]
            },
            "rules": [ {{rules}} ],
            "shutdownTimeout": "00:00:05"
          }
        }
        """;

    private const string Alice = """{ "token": "reload-alice", "subject": "alice", "groups": ["eng"] }""";
    private const string Bob = """{ "token": "reload-bob", "subject": "bob", "groups": ["eng"] }""";
    private const string NoDrop = """{ "name": "no-drop", "action": "deny", "statements": ["drop"] }""";
    private const string NoMd5 = """{ "name": "no-md5", "action": "deny", "functions": ["md5"] }""";

    private static string ConnectionString(int port, string user, string token) =>
        $"Host=127.0.0.1;Port={port};Username={user};Password={token};Database=app;Pooling=false;SSL Mode=Disable;Timeout=10;Command Timeout=30";

    [Fact]
    public async Task RulesAndIdentityFollowTheHostsConfigurationWhenItReloads()
    {
        int port = Ports.Free();
        string file = Path.Combine(_directory, "appsettings.json");
        await File.WriteAllTextAsync(file, Settings(port, NoDrop, Alice));
        using var logs = new ListLoggerProvider();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = _directory });
        builder.Configuration.AddJsonFile(file, optional: false, reloadOnChange: true);
        builder.Logging.ClearProviders().AddProvider(logs);
        builder.Services.AddWire(builder.Configuration.GetSection("Wire")).AddPostgres();
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            await using var conn = new NpgsqlConnection(ConnectionString(port, "alice", "reload-alice"));
            await conn.OpenAsync();
            bool Md5Denied()
            {
                using var select = new NpgsqlCommand("SELECT md5('x')", conn);
                try
                {
                    select.ExecuteScalar();
                    return false;
                }
                catch (PostgresException e) when (e.SqlState == "42501")
                {
                    return true;
                }
            }
            Assert.False(Md5Denied());

            // The rules change: the open session's next statement is judged by them.
            await File.WriteAllTextAsync(file, Settings(port, NoDrop + "," + NoMd5, Alice + "," + Bob));
            Assert.True(await Eventually.WaitAsync(Md5Denied), "the reloaded rules never took effect:\n" + logs);

            // So does identity: a token added to the configuration logs in.
            await using (var bob = new NpgsqlConnection(ConnectionString(port, "bob", "reload-bob")))
            {
                await bob.OpenAsync();
            }

            // An invalid change is refused: what runs stays in force, and the host runs on.
            await File.WriteAllTextAsync(file, Settings(port, """{ "name": "broken", "action": "explode" }""", Alice));
            Assert.True(await Eventually.WaitAsync(() => logs.Lines.Any(l => l.Contains("Config reload failed", StringComparison.Ordinal))),
                "an invalid reload was not reported:\n" + logs);
            Assert.True(Md5Denied());
            await using (var bob = new NpgsqlConnection(ConnectionString(port, "bob", "reload-bob")))
            {
                await bob.OpenAsync();
            }
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
