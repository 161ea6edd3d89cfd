using System.Net;
using System.Net.Sockets;

namespace Wire.Enforcement.Transport;

/// <summary>Outgoing TCP connections for Wire's upstream legs.</summary>
internal static class WireConnector
{
    /// <summary>
    /// Connects to <paramref name="host"/> (a name or an IP literal; each address in turn) within <paramref name="timeout"/>.
    /// </summary>
    /// <param name="host">The host name or address.</param>
    /// <param name="port">The port.</param>
    /// <param name="timeout">How long resolving and connecting may take in all.</param>
    /// <param name="ct">Cancels the attempt.</param>
    /// <returns>The connected socket (NoDelay set) and the address it reached.</returns>
    /// <exception cref="SocketException">No address accepted the connection.</exception>
    /// <exception cref="OperationCanceledException">The timeout passed or <paramref name="ct"/> was cancelled.</exception>
    public static async Task<(Socket Socket, IPEndPoint Remote)> ConnectAsync(string host, int port, TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        IPAddress[] addresses = IPAddress.TryParse(host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cts.Token).ConfigureAwait(false);
        SocketException? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            var endPoint = new IPEndPoint(address, port);
            try
            {
                // A blocking connect on a pool thread: an asynchronous one would enrol the socket in .NET's
                // own epoll set for life, waking it for every packet the Wire loop already handles.
                using (cts.Token.Register(static s => ((Socket)s!).Dispose(), socket))
                {
                    await Task.Run(() => socket.Connect(endPoint), cts.Token).ConfigureAwait(false);
                }

                return (socket, endPoint);
            }
            catch (ObjectDisposedException) when (cts.IsCancellationRequested)
            {
                throw new OperationCanceledException(cts.Token);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                last = ex;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }
}
