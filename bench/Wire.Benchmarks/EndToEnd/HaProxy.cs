using System.Diagnostics;
using Wire.Gateway.Demo;

namespace Wire.Benchmarks.EndToEnd;

/// <summary>
/// HAProxy in TCP mode in front of a <see cref="LocalPostgresServer"/>: a plain forwarder that reads nothing, the floor
/// any proxy is measured against.
/// </summary>
internal sealed class HaProxy : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private HaProxy(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    public int Pid => _process.Id;

    /// <summary>Starts HAProxy (Debian package <c>haproxy</c>); null when it is not installed.</summary>
    public static Task<HaProxy?> TryStartAsync(LocalPostgresServer server) => TryStartAsync(server.Host, server.Port);

    /// <summary>
    /// Starts HAProxy in TCP mode in front of <paramref name="host"/>:<paramref name="upstreamPort"/>, with
    /// <paramref name="serverOptions"/> on its server line (<c>send-proxy-v2</c>, say); null when it is not installed.
    /// (Also linked into the PostgreSQL tests, which put it in front of Wire's PROXY protocol listener.)
    /// </summary>
    public static async Task<HaProxy?> TryStartAsync(string host, int upstreamPort, string serverOptions = "")
    {
        string? binary = new[] { "/usr/sbin/haproxy", "/usr/bin/haproxy" }.FirstOrDefault(File.Exists);
        if (binary is null)
        {
            return null;
        }

        string directory = Directory.CreateTempSubdirectory("wire-haproxy-").FullName;
        int port = PeerProcess.FreePort();

        string config = $"""
            global
                maxconn 1000
            defaults
                mode tcp
                timeout connect 5s
                timeout client 10m
                timeout server 10m
            listen upstream
                bind 127.0.0.1:{port}
                server upstream {host}:{upstreamPort} {serverOptions}
            """;
        string path = Path.Combine(directory, "haproxy.cfg");
        await File.WriteAllTextAsync(path, config + "\n").ConfigureAwait(false);

        var info = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add("-db");
        info.ArgumentList.Add("-f");
        info.ArgumentList.Add(path);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var proxy = new HaProxy(process, directory, port);
        if (await PeerProcess.WaitForPortAsync(process, port).ConfigureAwait(false))
        {
            return proxy;
        }

        await proxy.DisposeAsync().ConfigureAwait(false);
        throw new InvalidOperationException("haproxy did not start");
    }

    public async ValueTask DisposeAsync() => await PeerProcess.StopAsync(_process, _directory).ConfigureAwait(false);
}
