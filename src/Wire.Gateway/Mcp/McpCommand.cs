using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Wire.Enforcement.Identity;
using Wire.Gateway.Hosting;
using Wire.Hosting;

namespace Wire.Gateway.Mcp;

/// <summary>
/// <c>wire mcp --config FILE</c>: the gateway of FILE, plus a Model Context Protocol server on standard input and output
/// whose tools let an AI agent list the targets and run SQL through the gateway's own PostgreSQL listener, under the
/// identity of the token in <c>WIRE_TOKEN</c>: the same rules, masks, reviews and recordings as for a psql user.
/// </summary>
internal static class McpCommand
{
    /// <summary>The environment variable that holds the agent's token (set by the MCP client's server config).</summary>
    public const string TokenVariable = "WIRE_TOKEN";

    public static async Task<int> RunAsync(FileInfo configFile, TextWriter error, CancellationToken ct)
    {
        if (await WireCommandLine.LoadAsync(configFile, error).ConfigureAwait(false) is not { } settings)
        {
            return 2;
        }
        if (settings.Postgres is null)
        {
            await error.WriteLineAsync($"wire: {configFile.Name}: postgres: required by wire mcp (its tools run SQL through the PostgreSQL listener)")
                .ConfigureAwait(false);
            return 2;
        }

        // The agent's identity is checked once here, so a wrong token is a clear exit, not an error on every tool call.
        string? token = Environment.GetEnvironmentVariable(TokenVariable);
        if (string.IsNullOrEmpty(token))
        {
            await error.WriteLineAsync($"wire: mcp: set {TokenVariable} to the agent's token").ConfigureAwait(false);
            return 2;
        }
        var identity = await settings.IdentityValidator.ValidateAsync(token, ct).ConfigureAwait(false);
        if (!identity.Succeeded)
        {
            await error.WriteLineAsync($"wire: mcp: {TokenVariable} is not a valid token: {identity.FailureReason}").ConfigureAwait(false);
            return 2;
        }

        var agent = new McpAgent(token, identity.Identity!);
        using var host = GatewayHost.Build(settings, logToStandardError: true, services => services
            .AddSingleton(agent)
            .AddMcpServer(o => o.ServerInfo = new() { Name = "wire", Version = typeof(McpCommand).Assembly.GetName().Version?.ToString() ?? "0" })
            .WithStdioServerTransport()
            .WithTools<WireMcpTools>());
        return await WireCommandLine.RunHostAsync(host, error, ct).ConfigureAwait(false);
    }
}

/// <summary>Who the MCP tools act as: the token they present to the gateway's listener, and whose it is.</summary>
internal sealed record McpAgent(string Token, WireIdentity Identity);
