using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wire.Postgres.Tests.Infrastructure;

namespace Wire.Postgres.Tests.Hosting;

/// <summary>
/// A Generic Host of a test's own with <c>AddWire(configuration).AddPostgres()</c>, configured as <c>appsettings.json</c>
/// or environment variables would give it (every value a string): alice's token, and the real server as target <c>app</c>.
/// </summary>
internal static class EmbeddingHost
{
    /// <summary>The keys every such host has; a test adds its rules and limits.</summary>
    public static Dictionary<string, string?> Settings(PostgresFixture pg, int port) => new()
    {
        ["Wire:identity:tokens:0:token"] = "embed-token",
        ["Wire:identity:tokens:0:subject"] = "alice",
        ["Wire:postgres:listen"] = $"127.0.0.1:{port}",
        ["Wire:postgres:targets:0:name"] = "app",
        ["Wire:postgres:targets:0:host"] = "127.0.0.1",
        ["Wire:postgres:targets:0:port"] = pg.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Wire:postgres:targets:0:database"] = PostgresFixture.Database,
        ["Wire:postgres:targets:0:username"] = PostgresFixture.ScramUser,
        ["Wire:postgres:targets:0:password"] = pg.ScramPassword,
        ["Wire:postgres:targets:0:sslMode"] = "disable",
        ["Wire:shutdownTimeout"] = "00:00:05",
    };

    /// <summary>The host, not started; <paramref name="extend"/> adds the host's own pieces.</summary>
    public static IHost Build(Dictionary<string, string?> settings, Action<IWireBuilder>? extend = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        var wire = builder.Services.AddWire(builder.Configuration.GetSection("Wire")).AddPostgres();
        extend?.Invoke(wire);
        return builder.Build();
    }

    /// <summary>Alice's connection through the host's listener.</summary>
    public static string ConnectionString(int port) =>
        $"Host=127.0.0.1;Port={port};Username=alice;Password=embed-token;Database=app;Pooling=false;SSL Mode=Disable;Timeout=10;Command Timeout=30";
}
