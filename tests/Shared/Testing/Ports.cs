using System.Net;
using System.Net.Sockets;

namespace Wire.Testing;

/// <summary>Loopback ports for the processes a test starts.</summary>
internal static class Ports
{
    /// <summary>A port on 127.0.0.1 that was free a moment ago (the system's choice for a listener bound to port 0).</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
