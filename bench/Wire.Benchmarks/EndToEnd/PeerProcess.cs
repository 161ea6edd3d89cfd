using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Wire.Benchmarks.EndToEnd;

/// <summary>What every peer process of the harness needs: a free port, waiting until it listens, stopping it.</summary>
internal static class PeerProcess
{
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Waits (up to 10 s) until <paramref name="port"/> accepts; false when the process exited or never listened.</summary>
    public static async Task<bool> WaitForPortAsync(Process process, int port)
    {
        for (int i = 0; i < 100; i++)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
                return true;
            }
            catch (SocketException)
            {
                if (process.HasExited)
                {
                    return false;
                }
                await Task.Delay(100).ConfigureAwait(false);
            }
        }
        return false;
    }

    /// <summary>Kills the process (and its children) and removes its working directory.</summary>
    public static async Task StopAsync(Process process, string directory)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().ConfigureAwait(false);
        }
        process.Dispose();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
