using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Wire.Gateway.Demo;
using Wire.Gateway.Hosting;
using Wire.Gateway.Recording;
using Wire.Hosting;
using Wire.Hosting.Configuration;

namespace Wire.Gateway;

/// <summary>The <c>wire</c> command line (DESIGN.md §4).</summary>
internal static class WireCommandLine
{
    public static Task<int> InvokeAsync(string[] args) => InvokeAsync(args, Console.Out, Console.Error);

    /// <summary>Runs the command line with its output going to <paramref name="output"/> and <paramref name="error"/>.</summary>
    internal static async Task<int> InvokeAsync(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("Wire: an inspecting, credential-holding gateway for PostgreSQL, SSH and HTTP.");

        var configOption = new Option<FileInfo>("--config") { Description = "The gateway's JSON config file.", Required = true };
        var checkOption = new Option<bool>("--check-config") { Description = "Load and validate the config, then exit." };
        var run = new Command("run", "Run the gateway from a config file.") { configOption, checkOption };
        run.SetAction((parse, ct) => RunAsync(parse.GetValue(configOption)!, parse.GetValue(checkOption),
            parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct));
        root.Subcommands.Add(run);

        var mcpConfig = new Option<FileInfo>("--config") { Description = "The gateway's JSON config file.", Required = true };
        var mcp = new Command("mcp", $"Run the gateway with a Model Context Protocol server on stdin/stdout: AI agents list targets and run SQL " +
            $"through it as the identity of the token in {Mcp.McpCommand.TokenVariable}.") { mcpConfig };
        mcp.SetAction((parse, ct) => Mcp.McpCommand.RunAsync(parse.GetValue(mcpConfig)!, parse.InvocationConfiguration.Error, ct));
        root.Subcommands.Add(mcp);

        var portOption = new Option<int>("--port") { Description = "PostgreSQL port Wire listens on.", DefaultValueFactory = _ => 6432 };
        var demo = new Command("demo", "Start a throwaway PostgreSQL with fake customer data behind Wire; Ctrl-C cleans up.") { portOption };
        demo.SetAction((parse, ct) => DemoCommand.RunAsync(parse.GetValue(portOption), Console.Out, ct));
        root.Subcommands.Add(demo);

        var replayFile = new Argument<string>("FILE") { Description = "A recording (.jsonl)." };
        var replayConfig = new Option<FileInfo>("--config") { Description = "Also verify the recording with recording.key from this config.", HelpName = "FILE" };
        var replay = new Command("replay", "Print a session recording as a readable transcript.") { replayFile, replayConfig };
        replay.SetAction(parse => ReplayCommand.Run(parse.GetValue(replayFile)!, parse.GetValue(replayConfig),
            parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        root.Subcommands.Add(replay);

        var verifyPath = new Argument<string>("PATH") { Description = "A recording, or a directory whose *.jsonl recordings are all checked." };
        var verifyConfig = new Option<FileInfo>("--config")
        {
            Description = "The config whose recording.key signed the recordings.",
            HelpName = "FILE",
            Required = true,
        };
        var verify = new Command("verify", "Check recordings for edited, removed, reordered or truncated records.") { verifyPath, verifyConfig };
        verify.SetAction(parse => VerifyCommand.Run(parse.GetValue(verifyPath)!, parse.GetValue(verifyConfig)!,
            parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        root.Subcommands.Add(verify);

        var parseResult = root.Parse(args);
        var exitCode = await parseResult.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }).ConfigureAwait(false);
        // For verify and replay, exit 1 means a bad recording; a usage mistake is bad input (2), like a bad config.
        if (parseResult.Errors.Count > 0 && (parseResult.CommandResult.Command == verify || parseResult.CommandResult.Command == replay))
        {
            return RecordingCommandSupport.BadInput;
        }
        return exitCode;
    }

    private static async Task<int> RunAsync(FileInfo configFile, bool checkOnly, TextWriter output, TextWriter error, CancellationToken ct)
    {
        // What run builds before it listens is also what --check-config checks: a config it accepts starts.
        if (await LoadAsync(configFile, error).ConfigureAwait(false) is not { } settings)
        {
            return 2;
        }
        if (checkOnly)
        {
            await output.WriteLineAsync($"wire: {configFile.Name} is valid").ConfigureAwait(false);
            return 0;
        }
        using var host = GatewayHost.Build(settings);
        return await RunHostAsync(host, error, ct).ConfigureAwait(false);
    }

    /// <summary>The settings <paramref name="configFile"/> describes; null (the reason written to <paramref name="error"/>) when it is invalid.</summary>
    internal static async Task<GatewaySettings?> LoadAsync(FileInfo configFile, TextWriter error)
    {
        try
        {
            return GatewaySettings.From(GatewayConfig.Load(configFile.FullName));
        }
        catch (Exception ex) when (ex is ConfigException or InvalidOperationException or ArgumentException)
        {
            await error.WriteLineAsync($"wire: {configFile.Name}: {ex.Message}").ConfigureAwait(false);
            return null;
        }
    }

    /// <summary>Runs a gateway host until it stops: 0, or 1 when a listener could not bind.</summary>
    internal static async Task<int> RunHostAsync(IHost host, TextWriter error, CancellationToken ct)
    {
        try
        {
            await host.RunAsync(ct).ConfigureAwait(false);
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            await error.WriteLineAsync($"wire: cannot listen: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
        return 0;
    }
}
