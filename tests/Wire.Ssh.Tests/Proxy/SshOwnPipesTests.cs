using System.Net;
using System.Net.Sockets;
using Wire.Ssh.Tests.Infrastructure;
using Wire.Testing;

namespace Wire.Ssh.Tests.Proxy;

/// <summary>
/// <see cref="Wire.Ssh.Proxy.SshProxyServer.RunAsync"/>: a host that owns the transport (its own accept loop and its own
/// connection to the real sshd, both as pipes over streams) runs Wire's SSH session over them; OpenSSH's ssh is the client.
/// </summary>
public sealed class SshOwnPipesTests(SshdFixture sshd) : IClassFixture<SshdFixture>
{
    [Fact]
    public async Task A_command_runs_over_the_hosts_pipes_and_both_end_with_the_session()
    {
        await using var wire = new WireSshHarness(sshd);
        using var accept = new TcpListener(IPAddress.Loopback, 0);
        accept.Start();
        int port = ((IPEndPoint)accept.LocalEndpoint).Port;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        // The host reaches sshd through a relay of its own: Wire must log in over the host's connection, not dial sshd.
        await using var hostsRoute = TcpTap.Start(sshd.Port);

        var hosting = Task.Run(async () =>
        {
            using var client = await accept.AcceptSocketAsync(timeout.Token);
            using var upstream = new TcpClient();
            await upstream.ConnectAsync(IPAddress.Loopback, hostsRoute.Port, timeout.Token);
            await wire.Server.RunAsync(new StreamPipe(new NetworkStream(client, ownsSocket: false)), new StreamPipe(upstream.GetStream()),
                (IPEndPoint)client.RemoteEndPoint!, timeout.Token);
            // Wire completed the pipes, which closed the host's stream and with it the connection to sshd.
            try
            {
                return upstream.Client.Poll(5_000_000, SelectMode.SelectRead) && upstream.Client.Available == 0;
            }
            catch (ObjectDisposedException)
            {
                return true;
            }
        });

        var arguments = wire.SshArguments("alice+app@127.0.0.1", "echo over-own-pipes");
        arguments[arguments.IndexOf("-p") + 1] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var result = await Processes.RunAsync("ssh", arguments, TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, result.StandardError + sshd.Log);
        Assert.Equal("over-own-pipes\n", result.StandardOutput);
        Assert.True(await hosting.WaitAsync(TimeSpan.FromSeconds(30)), "the connection to sshd stayed open after the session ended");
        Assert.Equal(1, hostsRoute.Connections);
        Assert.True(hostsRoute.BytesToClient > 1000, "the SSH login to sshd did not go over the host's connection");
    }
}
