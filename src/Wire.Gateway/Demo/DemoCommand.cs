using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;
using Wire.Gateway.Hosting;
using Wire.Hosting;
using Wire.Postgres.Proxy;

namespace Wire.Gateway.Demo;

/// <summary>
/// <c>wire demo</c>: a throwaway PostgreSQL with fake customer data, Wire in front of it on
/// 127.0.0.1, a static token for subject <c>demo</c>; everything is removed on Ctrl-C.
/// </summary>
internal static class DemoCommand
{
    public const string Token = "demo-token";
    public const string Subject = "demo";

    /// <summary>A second identity, in the approver group of the demo's review rule, for the approval page.</summary>
    public const string ReviewerToken = "reviewer-token";
    public const string TargetName = "demo";

    public static async Task<int> RunAsync(int port, TextWriter output, CancellationToken ct)
    {
        if (LocalPostgresServer.FindBinDirectory() is null)
        {
            await Console.Error.WriteLineAsync(
                "wire demo: PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH or under /usr/lib/postgresql/*/bin; install the postgresql package.")
                .ConfigureAwait(false);
            return 1;
        }

        await output.WriteLineAsync("wire demo: starting a throwaway PostgreSQL server...").ConfigureAwait(false);
        LocalPostgresServer server;
        try
        {
            var serverOptions = new LocalPostgresServerOptions();
            serverOptions.HbaLines.Add("host all demo_owner 127.0.0.1/32 scram-sha-256");
            server = await LocalPostgresServer.StartAsync(serverOptions, ct).ConfigureAwait(false);
        }
        catch (InvalidOperationException ex)
        {
            await Console.Error.WriteLineAsync("wire demo: " + ex.Message).ConfigureAwait(false);
            return 1;
        }

        await using (server.ConfigureAwait(false))
        {
            // The upstream credential: generated here, held by Wire, never shown to the client.
            string ownerPassword = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
            await DemoData.SeedAsync(server, "demo_owner", ownerPassword, ct).ConfigureAwait(false);

            var options = new PgProxyOptions { Listen = new IPEndPoint(IPAddress.Loopback, port) };
            options.Targets.Add(new PgTargetOptions
            {
                Name = TargetName,
                Host = server.Host,
                Port = server.Port,
                Database = DemoData.DatabaseName,
                Username = "demo_owner",
                Password = ownerPassword,
                SslMode = PgSslMode.Disable,
            });

            var recording = DemoRules.CreateRecording();
            var admin = new IPEndPoint(IPAddress.Loopback, FreePort());
            var settings = new GatewaySettings
            {
                IdentityValidator = new StaticTokenValidator([new StaticToken(Token, Subject, ["demo"]), new StaticToken(ReviewerToken, "reviewer", ["dba"])]),
                AdminListen = admin,
                AdminGroups = ["dba"],
                Postgres = options,
                Rules = new RuleSetProvider(DemoRules.Create()),
                Recording = recording.Options,
                ShutdownTimeout = TimeSpan.FromSeconds(5),
                Started = service => PrintInstructions(output, service.Postgres!.LocalEndPoint, server, recording, admin),
            };

            using var host = GatewayHost.Build(settings);
            try
            {
                await host.RunAsync(ct).ConfigureAwait(false);
            }
            catch (System.Net.Sockets.SocketException ex)
            {
                await Console.Error.WriteLineAsync($"wire demo: cannot listen on 127.0.0.1:{port}: {ex.Message} (try --port)").ConfigureAwait(false);
                return 1;
            }

            await output.WriteLineAsync("wire demo: stopping and removing the demo database...").ConfigureAwait(false);
        }

        return 0;
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void PrintInstructions(TextWriter output, IPEndPoint endPoint, LocalPostgresServer server, DemoRecording recording, IPEndPoint admin)
    {
        output.WriteLine();
        output.WriteLine($"Wire is listening on {endPoint} in front of a throwaway PostgreSQL (port {server.Port}).");
        output.WriteLine($"Your token is \"{Token}\" (subject \"{Subject}\"); the database password stays inside Wire.");
        output.WriteLine("Connect with:");
        output.WriteLine();
        output.WriteLine($"  PGPASSWORD={Token} psql \"host={endPoint.Address} port={endPoint.Port} dbname={TargetName} user={Subject}\"");
        output.WriteLine();
        output.WriteLine(DemoData.Summary);
        output.WriteLine(DemoRules.Summary);
        output.WriteLine($"Approval page: http://{admin}/approvals (sign in with the reviewer token \"{ReviewerToken}\")");
        output.WriteLine($"Admin API:     http://{admin}/api/approvals, /api/recordings, /healthz, /metrics (docs/admin-api.md)");
        output.WriteLine();
        output.WriteLine($"Sessions are recorded in {recording.Options.Directory}");
        output.WriteLine($"  wire replay {recording.Options.Directory}/<session>.jsonl");
        output.WriteLine($"  wire verify {recording.Options.Directory} --config {recording.ConfigPath}");
        output.WriteLine();
        output.WriteLine("Press Ctrl-C to stop; the database is deleted (the recordings are kept).");
        output.Flush();
    }
}
