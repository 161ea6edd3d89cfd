using System.Diagnostics;
using Wire.Gateway.Demo;

namespace Wire.Benchmarks.EndToEnd;

/// <summary>
/// A pgbouncer in session-pooling mode in front of a <see cref="LocalPostgresServer"/>. pgbouncer
/// refuses to run as root, so as root it runs as the <c>postgres</c> user.
/// </summary>
internal sealed class PgBouncer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private PgBouncer(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The pgbouncer process id (not runuser's), for its CPU time.</summary>
    public int Pid => ProcessCpu.Find(Path.Combine(_directory, "pgbouncer.ini"));

    public static async Task<PgBouncer?> TryStartAsync(LocalPostgresServer server, string role, string password)
    {
        string? binary = new[] { "/usr/sbin/pgbouncer", "/usr/bin/pgbouncer" }.FirstOrDefault(File.Exists);
        if (binary is null)
        {
            return null;
        }

        string directory = Directory.CreateTempSubdirectory("wire-pgbouncer-").FullName;
        int port = PeerProcess.FreePort();
        string config = $"""
            [databases]
            bench = host={server.Host} port={server.Port} dbname=bench
            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = {port}
            unix_socket_dir =
            auth_type = plain
            auth_file = {directory}/userlist.txt
            pool_mode = session
            max_client_conn = 200
            default_pool_size = 50
            logfile = {directory}/pgbouncer.log
            """;
        await File.WriteAllTextAsync(Path.Combine(directory, "pgbouncer.ini"), config).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(directory, "userlist.txt"), $"\"{role}\" \"{password}\"\n").ConfigureAwait(false);

        bool root = Environment.UserName == "root";
        var info = new ProcessStartInfo(root ? "runuser" : binary) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        if (root)
        {
            await ProcessRunner.RunAsync("chown", ["-R", "postgres", directory], null, TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            foreach (var a in new[] { "-u", "postgres", "--", binary })
            {
                info.ArgumentList.Add(a);
            }
        }

        info.ArgumentList.Add(Path.Combine(directory, "pgbouncer.ini"));
        var process = Process.Start(info)!;
        var bouncer = new PgBouncer(process, directory, port);
        if (await PeerProcess.WaitForPortAsync(process, port).ConfigureAwait(false))
        {
            return bouncer;
        }

        string log = File.Exists(Path.Combine(directory, "pgbouncer.log")) ? await File.ReadAllTextAsync(Path.Combine(directory, "pgbouncer.log")).ConfigureAwait(false) : "";
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }
        string error = await process.StandardError.ReadToEndAsync().ConfigureAwait(false);
        await bouncer.DisposeAsync().ConfigureAwait(false);
        throw new InvalidOperationException("pgbouncer did not start: " + log + error);
    }

    public async ValueTask DisposeAsync() => await PeerProcess.StopAsync(_process, _directory).ConfigureAwait(false);
}
