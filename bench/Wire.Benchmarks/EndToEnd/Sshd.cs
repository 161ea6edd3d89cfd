using System.Diagnostics;
using System.Globalization;

namespace Wire.Benchmarks.EndToEnd;

/// <summary>
/// OpenSSH's sshd (Debian's openssh-server) on 127.0.0.1 with throwaway keys: the target of the SSH benchmark. One key
/// (client) logs in directly, as the jump host's user and as Wire's credential for the target.
/// </summary>
internal sealed class Sshd : IAsyncDisposable
{
    private const string Binary = "/usr/sbin/sshd";
    private readonly Process _process;

    private Sshd(Process process, string directory, int port)
    {
        _process = process;
        Directory = directory;
        Port = port;
    }

    public static bool IsInstalled => File.Exists(Binary) && File.Exists("/usr/bin/ssh") && File.Exists("/usr/bin/ssh-keygen");

    public string Directory { get; }

    public int Port { get; }

    /// <summary>The master process: its cutime/cstime include the per-connection processes it reaped.</summary>
    public int Pid => _process.Id;

    public string ClientKey => Path.Combine(Directory, "client");

    public string HostKeyLine { get; private set; } = "";

    public static string UserName => Environment.UserName;

    public static async Task<Sshd> StartAsync()
    {
        string directory = System.IO.Directory.CreateTempSubdirectory("wire-bench-sshd-").FullName;
        foreach (var name in (string[])["host", "client"])
        {
            await KeygenAsync(Path.Combine(directory, name)).ConfigureAwait(false);
        }
        File.Copy(Path.Combine(directory, "client.pub"), Path.Combine(directory, "authorized_keys"));
        if (Environment.UserName == "root")
        {
            System.IO.Directory.CreateDirectory("/run/sshd");
        }
        int port = PeerProcess.FreePort();
        string config = Path.Combine(directory, "sshd_config");
        await File.WriteAllTextAsync(config, $"""
            Port {port}
            ListenAddress 127.0.0.1
            HostKey {directory}/host
            PidFile {directory}/sshd.pid
            AuthorizedKeysFile {directory}/authorized_keys
            StrictModes no
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PermitRootLogin prohibit-password
            AllowTcpForwarding yes
            LogLevel ERROR
            """).ConfigureAwait(false);
        var info = new ProcessStartInfo(Binary) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in (string[])["-D", "-e", "-f", config])
        {
            info.ArgumentList.Add(argument);
        }
        var process = Process.Start(info)!;
        process.ErrorDataReceived += (_, _) => { };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var sshd = new Sshd(process, directory, port);
        if (!await PeerProcess.WaitForPortAsync(process, port).ConfigureAwait(false))
        {
            await sshd.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException("sshd did not start");
        }
        string hostPublic = (await File.ReadAllTextAsync(Path.Combine(directory, "host.pub")).ConfigureAwait(false)).Trim();
        sshd.HostKeyLine = $"[127.0.0.1]:{port.ToString(CultureInfo.InvariantCulture)} {hostPublic}";
        return sshd;
    }

    /// <summary>Makes an Ed25519 key pair at <paramref name="path"/> (and path.pub).</summary>
    public static async Task KeygenAsync(string path)
    {
        var result = await ProcessRunner.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f", path], null, TimeSpan.FromSeconds(30))
            .ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException("ssh-keygen failed: " + result.Error);
        }
    }

    /// <summary>CPU time of sshd and every connection process it has reaped (fields 14-17 of /proc/PID/stat).</summary>
    public TimeSpan CpuWithReapedChildren()
    {
        string stat = File.ReadAllText($"/proc/{Pid}/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long ticks = 0;
        for (int i = 11; i <= 14; i++)
        {
            ticks += long.Parse(fields[i], CultureInfo.InvariantCulture);
        }
        return TimeSpan.FromSeconds(ticks / 100.0);
    }

    public async ValueTask DisposeAsync() => await PeerProcess.StopAsync(_process, Directory).ConfigureAwait(false);
}
