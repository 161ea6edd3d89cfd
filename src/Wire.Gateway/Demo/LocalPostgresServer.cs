using System.ComponentModel;
using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Wire.Gateway.Demo;

/// <summary>
/// A throwaway PostgreSQL server in a temp directory, for the demo, tests and benchmarks: initdb with trust auth,
/// loopback-only, durability off, optional TLS. When the process runs as root the server runs as the
/// <c>postgres</c> OS user (fallback <c>nobody</c>) because initdb and postgres refuse to run as root.
/// </summary>
internal sealed class LocalPostgresServer : IAsyncDisposable
{
    private const string LoopbackHost = "127.0.0.1";
    private const int StartAttempts = 3;
    private const int LogTailLines = 40;

    private static readonly string[] ServerTools = ["initdb", "pg_ctl", "postgres"];
    private static readonly string[] ServerUsers = ["postgres", "nobody"];
    private static readonly string[] StopModes = ["fast", "immediate"];
    private static readonly TimeSpan InitdbTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(45);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan PsqlTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ShortTimeout = TimeSpan.FromSeconds(10);

    private readonly string _rootDirectory;
    private readonly ServerAccount? _account;
    private readonly EventHandler _processExitHandler;
    private int _disposed;

    private LocalPostgresServer(string binDirectory, string rootDirectory, ServerAccount? account, string superUser)
    {
        BinDirectory = binDirectory;
        _rootDirectory = rootDirectory;
        _account = account;
        SuperUser = superUser;
        DataDirectory = Path.Combine(rootDirectory, "data");
        LogFile = Path.Combine(rootDirectory, "postgres.log");
        _processExitHandler = (_, _) => StopOnProcessExit();
    }

    /// <summary>The address the server listens on (loopback only).</summary>
    public string Host => LoopbackHost;

    /// <summary>The TCP port the server listens on.</summary>
    public int Port { get; private set; }

    /// <summary>The bootstrap superuser; it logs in with <c>trust</c> from 127.0.0.1.</summary>
    public string SuperUser { get; }

    /// <summary>The cluster's data directory (inside a private temp directory deleted on dispose).</summary>
    public string DataDirectory { get; }

    /// <summary>The directory holding initdb, pg_ctl and postgres.</summary>
    public string BinDirectory { get; }

    /// <summary>The server log (pg_ctl <c>-l</c>).</summary>
    public string LogFile { get; }

    /// <summary>The Unix socket directory (the private temp directory).</summary>
    public string SocketDirectory => _rootDirectory;

    /// <summary>
    /// The directory holding initdb, pg_ctl and postgres: the first on PATH, else the highest-version
    /// <c>/usr/lib/postgresql/*/bin</c>; null when there is none.
    /// </summary>
    public static string? FindBinDirectory()
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var entry in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (HasServerTools(entry))
            {
                return ResolveRealBinDirectory(entry);
            }
        }

        const string DebianRoot = "/usr/lib/postgresql";
        if (!Directory.Exists(DebianRoot))
        {
            return null;
        }

        var candidates = new List<(Version Version, string Bin)>();
        foreach (var versionDirectory in Directory.EnumerateDirectories(DebianRoot))
        {
            var name = Path.GetFileName(versionDirectory);
            if (Version.TryParse(name.Contains('.', StringComparison.Ordinal) ? name : name + ".0", out var version))
            {
                var bin = Path.Combine(versionDirectory, "bin");
                if (HasServerTools(bin))
                {
                    candidates.Add((version, bin));
                }
            }
        }

        return candidates.Count == 0 ? null : candidates.MaxBy(c => c.Version).Bin;
    }

    /// <summary>Creates a cluster in a new temp directory and starts it on a free loopback port.</summary>
    /// <exception cref="InvalidOperationException">No server binaries, or the server would not start.</exception>
    public static async Task<LocalPostgresServer> StartAsync(LocalPostgresServerOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        ValidateOptions(options);

        var binDirectory = FindBinDirectory() ?? throw new InvalidOperationException(
            "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or under /usr/lib/postgresql/*/bin; " +
            "install the postgresql package");

        var account = await ResolveServerAccountAsync(ct).ConfigureAwait(false);
        var rootDirectory = CreatePrivateDirectory(account is not null);
        var server = new LocalPostgresServer(binDirectory, rootDirectory, account, options.SuperUser);
        try
        {
            await server.ChownAsync(ct).ConfigureAwait(false);
            await server.InitDbAsync(ct).ConfigureAwait(false);
            await server.ConfigureAsync(options, ct).ConfigureAwait(false);
            await server.StartServerAsync(options, ct).ConfigureAwait(false);
        }
        catch
        {
            await server.StopServerAsync(CancellationToken.None).ConfigureAwait(false);
            server.DeleteRootDirectory();
            throw;
        }

        // A test run that crashes or is cancelled still stops the server (DisposeAsync unregisters this).
        AppDomain.CurrentDomain.ProcessExit += server._processExitHandler;
        return server;
    }

    /// <summary>
    /// Runs SQL through psql as the superuser (<c>ON_ERROR_STOP</c>, unaligned, tuples only) and returns its stdout.
    /// </summary>
    /// <exception cref="InvalidOperationException">psql exited non-zero; the message holds its stderr.</exception>
    public async Task<string> PsqlAsync(string sql, string database = "postgres", CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(sql);
        ArgumentException.ThrowIfNullOrEmpty(database);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

        string[] arguments =
        [
            "-X", "-q", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=1",
            "-h", LoopbackHost, "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", SuperUser, "-d", database,
        ];
        var result = await ToolProcess.RunAsync(FindPsql(), arguments, sql, workingDirectory: null, PsqlTimeout, ct)
            .ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"psql on database '{database}' failed with exit code {result.ExitCode}: {result.StandardError.Trim()}");
        }

        return result.StandardOutput;
    }

    /// <summary>An Npgsql keyword connection string to this server.</summary>
    public string ConnectionString(string database, string user, string? password = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(database);
        ArgumentException.ThrowIfNullOrEmpty(user);

        var builder = new DbConnectionStringBuilder
        {
            ["Host"] = LoopbackHost,
            ["Port"] = Port.ToString(CultureInfo.InvariantCulture),
            ["Database"] = database,
            ["Username"] = user,
        };
        if (password is not null)
        {
            builder["Password"] = password;
        }

        return builder.ConnectionString;
    }

    /// <summary>Stops the server (fast, then immediate) and deletes its temp directory. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        AppDomain.CurrentDomain.ProcessExit -= _processExitHandler;
        await StopServerAsync(CancellationToken.None).ConfigureAwait(false);
        DeleteRootDirectory();
    }

    private static void ValidateOptions(LocalPostgresServerOptions options)
    {
        var user = options.SuperUser;
        if (string.IsNullOrEmpty(user) || user.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'' or ',' or '#' or '\\'))
        {
            throw new ArgumentException($"Invalid superuser name '{user}'.", nameof(options));
        }

        if (options.MaxConnections < 1)
        {
            throw new ArgumentException("MaxConnections must be positive.", nameof(options));
        }

        if ((options.TlsCertificatePem is null) != (options.TlsKeyPem is null))
        {
            throw new ArgumentException("TlsCertificatePem and TlsKeyPem must be given together.", nameof(options));
        }
    }

    private static bool HasServerTools(string directory) =>
        ServerTools.All(tool => File.Exists(Path.Combine(directory, tool)));

    // PATH often holds symlinks (/usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb); report the real bin dir.
    private static string ResolveRealBinDirectory(string directory)
    {
        try
        {
            var target = new FileInfo(Path.Combine(directory, "initdb")).ResolveLinkTarget(returnFinalTarget: true);
            var realDirectory = target is null ? null : Path.GetDirectoryName(target.FullName);
            if (realDirectory is not null && HasServerTools(realDirectory))
            {
                return realDirectory;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return Path.GetFullPath(directory);
    }

    private static async Task<ServerAccount?> ResolveServerAccountAsync(CancellationToken ct)
    {
        if (OperatingSystem.IsWindows() || !Environment.IsPrivilegedProcess)
        {
            return null;
        }

        foreach (var user in ServerUsers)
        {
            var result = await ToolProcess.RunAsync("id", ["-g", user], null, null, ShortTimeout, ct).ConfigureAwait(false);
            if (result.ExitCode == 0)
            {
                return new ServerAccount(user, result.StandardOutput.Trim());
            }
        }

        throw new InvalidOperationException(
            "Running as root, but neither the 'postgres' nor the 'nobody' OS user exists to run the PostgreSQL server as.");
    }

    private static string CreatePrivateDirectory(bool mustBeReachableByOthers)
    {
        var name = "wire-pg-" + Guid.NewGuid().ToString("N")[..12];
        if (OperatingSystem.IsWindows())
        {
            return Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), name)).FullName;
        }

        // The server user must be able to walk down to the directory; a root-only TMPDIR would block it.
        var parent = Path.GetTempPath();
        if (mustBeReachableByOthers && !IsTraversableByOthers(parent))
        {
            parent = "/tmp";
        }

        var path = Path.Combine(parent, name);
        Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private static bool IsTraversableByOthers(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return true;
        }

        for (var current = new DirectoryInfo(Path.GetFullPath(directory)); current is not null; current = current.Parent)
        {
            if (!current.Exists || (current.UnixFileMode & UnixFileMode.OtherExecute) == 0)
            {
                return false;
            }
        }

        return true;
    }

    private string FindPsql()
    {
        var local = Path.Combine(BinDirectory, "psql");
        if (File.Exists(local))
        {
            return local;
        }

        return File.Exists("/usr/bin/psql") ? "/usr/bin/psql" : "psql";
    }

    private string Tool(string name) => Path.Combine(BinDirectory, name);

    private async Task ChownAsync(CancellationToken ct)
    {
        if (_account is null)
        {
            return;
        }

        var result = await ToolProcess.RunAsync("chown", ["-R", $"{_account.User}:{_account.Group}", _rootDirectory], null, null,
            ShortTimeout, ct).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"chown of {_rootDirectory} to {_account.User} failed: {result.StandardError.Trim()}");
        }
    }

    private async Task InitDbAsync(CancellationToken ct)
    {
        var result = await RunServerToolAsync(
            "initdb",
            ["-D", DataDirectory, "--auth=trust", "-U", SuperUser, "-E", "UTF8", "--locale=C", "--no-sync"],
            InitdbTimeout,
            ct).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"initdb failed with exit code {result.ExitCode}: {result.StandardError.Trim()} {result.StandardOutput.Trim()}");
        }
    }

    private async Task ConfigureAsync(LocalPostgresServerOptions options, CancellationToken ct)
    {
        var hba = new StringBuilder();
        hba.AppendLine("# Written by Wire LocalPostgresServer; first match wins.");
        foreach (var line in options.HbaLines)
        {
            hba.AppendLine(line);
        }

        hba.Append(CultureInfo.InvariantCulture, $"host all {SuperUser} 127.0.0.1/32 trust").AppendLine();
        hba.AppendLine("local all all trust");
        await File.WriteAllTextAsync(Path.Combine(DataDirectory, "pg_hba.conf"), hba.ToString(), ct).ConfigureAwait(false);

        if (options.TlsCertificatePem is not null && options.TlsKeyPem is not null)
        {
            await File.WriteAllTextAsync(Path.Combine(DataDirectory, "server.crt"), options.TlsCertificatePem, ct)
                .ConfigureAwait(false);
            var keyPath = Path.Combine(DataDirectory, "server.key");
            await File.WriteAllTextAsync(keyPath, options.TlsKeyPem, ct).ConfigureAwait(false);
            if (!OperatingSystem.IsWindows())
            {
                // postgres refuses a key readable by group/other when it owns the file.
                File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }

        // Files written as root above must belong to the server user.
        await ChownAsync(ct).ConfigureAwait(false);
    }

    private async Task StartServerAsync(LocalPostgresServerOptions options, CancellationToken ct)
    {
        var configPath = Path.Combine(DataDirectory, "postgresql.conf");
        var initdbConfig = await File.ReadAllTextAsync(configPath, ct).ConfigureAwait(false);
        var failures = new StringBuilder();

        for (var attempt = 1; attempt <= StartAttempts; attempt++)
        {
            // A port found free can be taken before postgres binds it; a failed start retries with another.
            Port = FindFreePort();
            await File.WriteAllTextAsync(configPath, initdbConfig + BuildConfigBlock(options), ct).ConfigureAwait(false);

            var result = await RunServerToolAsync(
                "pg_ctl",
                ["-D", DataDirectory, "-l", LogFile, "-w", "-t", "30", "start"],
                StartTimeout,
                ct).ConfigureAwait(false);
            if (result.ExitCode == 0)
            {
                return;
            }

            failures.Append(CultureInfo.InvariantCulture,
                $"attempt {attempt} (port {Port}): exit {result.ExitCode}: {result.StandardError.Trim()} {result.StandardOutput.Trim()}")
                .AppendLine();
            await StopServerAsync(ct).ConfigureAwait(false);
        }

        throw new InvalidOperationException(
            $"PostgreSQL did not start after {StartAttempts} attempts.{Environment.NewLine}{failures}" +
            $"Server log ({LogFile}) tail:{Environment.NewLine}{ReadLogTail()}");
    }

    private string BuildConfigBlock(LocalPostgresServerOptions options)
    {
        var config = new StringBuilder();
        config.AppendLine();
        config.AppendLine("# --- Wire LocalPostgresServer: a throwaway server, durability off ---");
        config.AppendLine($"listen_addresses = '{LoopbackHost}'");
        config.AppendLine(CultureInfo.InvariantCulture, $"port = {Port}");
        config.AppendLine($"unix_socket_directories = '{_rootDirectory.Replace("'", "''", StringComparison.Ordinal)}'");
        config.AppendLine("fsync = off");
        config.AppendLine("synchronous_commit = off");
        config.AppendLine("full_page_writes = off");
        config.AppendLine(CultureInfo.InvariantCulture, $"max_connections = {options.MaxConnections}");
        if (options.TlsCertificatePem is not null)
        {
            config.AppendLine("ssl = on");
            config.AppendLine("ssl_cert_file = 'server.crt'");
            config.AppendLine("ssl_key_file = 'server.key'");
        }

        foreach (var line in options.ExtraConfig)
        {
            config.AppendLine(line);
        }

        return config.ToString();
    }

    private static int FindFreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }

    private async Task StopServerAsync(CancellationToken ct)
    {
        if (!File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            return;
        }

        foreach (var mode in StopModes)
        {
            try
            {
                var result = await RunServerToolAsync("pg_ctl", ["-D", DataDirectory, "stop", "-m", mode, "-w", "-t", "10"],
                    StopTimeout, ct).ConfigureAwait(false);
                if (result.ExitCode == 0 || !File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
            {
                // Fall through to the next, harsher mode.
            }
        }

        KillPostmaster();
    }

    private void StopOnProcessExit()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            // Nothing awaits us here, so go straight for the quickest shutdown.
            RunServerToolAsync("pg_ctl", ["-D", DataDirectory, "stop", "-m", "immediate", "-w", "-t", "10"], StopTimeout,
                CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException or IOException)
        {
            KillPostmaster();
        }

        DeleteRootDirectory();
    }

    // Last resort when pg_ctl cannot stop the server: kill the postmaster we started (pid from postmaster.pid).
    private void KillPostmaster()
    {
        try
        {
            var pidFile = Path.Combine(DataDirectory, "postmaster.pid");
            if (!File.Exists(pidFile))
            {
                return;
            }

            var firstLine = File.ReadLines(pidFile).FirstOrDefault();
            if (int.TryParse(firstLine, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                using var postmaster = Process.GetProcessById(pid);
                postmaster.Kill(entireProcessTree: true);
                postmaster.WaitForExit(ShortTimeout);
            }
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or Win32Exception
                                       or UnauthorizedAccessException or NotSupportedException)
        {
        }
    }

    private void DeleteRootDirectory()
    {
        try
        {
            if (Directory.Exists(_rootDirectory))
            {
                Directory.Delete(_rootDirectory, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    private string ReadLogTail()
    {
        try
        {
            if (!File.Exists(LogFile))
            {
                return "(no log file)";
            }

            var lines = File.ReadAllLines(LogFile);
            return string.Join(Environment.NewLine, lines.Skip(Math.Max(0, lines.Length - LogTailLines)));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"(log unreadable: {ex.Message})";
        }
    }

    private Task<ProcessResult> RunServerToolAsync(string tool, IReadOnlyList<string> arguments, TimeSpan timeout,
        CancellationToken ct)
    {
        if (_account is null)
        {
            return ToolProcess.RunAsync(Tool(tool), arguments, null, _rootDirectory, timeout, ct);
        }

        // initdb and postgres refuse to run as root: drop to the server user for every server-side tool.
        string fileName;
        List<string> wrapped;
        var runuser = FindExecutable("runuser", "/usr/sbin", "/sbin", "/usr/bin", "/bin");
        if (runuser is not null)
        {
            fileName = runuser;
            wrapped = ["-u", _account.User, "--"];
        }
        else
        {
            fileName = FindExecutable("setpriv", "/usr/bin", "/bin") ?? throw new InvalidOperationException(
                "Running as root, but neither runuser nor setpriv is available to drop privileges for PostgreSQL.");
            wrapped = ["--reuid", _account.User, "--regid", _account.Group, "--init-groups", "--"];
        }

        wrapped.Add(Tool(tool));
        wrapped.AddRange(arguments);
        return ToolProcess.RunAsync(fileName, wrapped, null, _rootDirectory, timeout, ct);
    }

    private static string? FindExecutable(string name, params ReadOnlySpan<string> directories)
    {
        foreach (var directory in directories)
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private sealed record ServerAccount(string User, string Group);
}
