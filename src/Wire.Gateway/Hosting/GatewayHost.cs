using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;
using Wire.Hosting;
using Wire.Hosting.Configuration;

namespace Wire.Gateway.Hosting;

/// <summary>Builds the Generic Host that runs a gateway.</summary>
internal static class GatewayHost
{
    /// <param name="settings">What to run.</param>
    /// <param name="logToStandardError">Every log line to standard error (when standard output carries a protocol, as for <c>wire mcp</c>).</param>
    /// <param name="services">Adds more services to the host (the MCP server).</param>
    public static IHost Build(GatewaySettings settings, bool logToStandardError = false, Action<IServiceCollection>? services = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        if (logToStandardError)
        {
            builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        }
        builder.Logging.SetMinimumLevel(settings.LoggingLevel);
        builder.Services.AddSingleton(settings);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = settings.ShutdownTimeout);
        // The reloader starts first, so a SIGHUP sent once the listeners are up is never missed.
        if (settings.Config is { ConfigPath.Length: > 0 } config && settings.IdentityValidator is ReloadableIdentityValidator reloadable)
        {
            builder.Services.AddSingleton(sp => new ConfigReloader(config, reloadable, settings.Rules, sp.GetRequiredService<ILoggerFactory>(), settings.Users));
            builder.Services.AddHostedService(sp => sp.GetRequiredService<ConfigReloader>());
        }
        builder.Services.AddSingleton<GatewayService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<GatewayService>());
        if (settings.AdminListen is not null)
        {
            builder.Services.AddSingleton<Admin.AdminServer>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<Admin.AdminServer>());
        }
        services?.Invoke(builder.Services);
        return builder.Build();
    }
}
