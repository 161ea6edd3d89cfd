using System.Net;
using System.Net.Sockets;
using System.Text;
using Wire.Enforcement.Transport;
using Wire.Ssh.Tests.Infrastructure;
using Wire.Testing;

namespace Wire.Ssh.Tests.Limits;

/// <summary>
/// The limits of the SSH listener (issue 10) with OpenSSH's ssh: over <c>maxConnections</c> a connection is closed at
/// once (as sshd past MaxStartups), over <c>maxConnectionsPerIdentity</c> the login fails with a banner that says why;
/// both are logged. An idle session is disconnected by application; a packet longer than <c>maxPacketBytes</c> is a
/// protocol error.
/// </summary>
public sealed class SshConnectionLimitTests
{
    /// <summary>ssh at its default log level, so banners and disconnect messages show on stderr.</summary>
    private static List<string> Loud(List<string> arguments) => [.. arguments.Select(a => a == "LogLevel=ERROR" ? "LogLevel=INFO" : a)];

    public sealed class Total(SshdFixture sshd) : WireSshTestBase(sshd), IClassFixture<SshdFixture>
    {
        protected override ConnectionLimits Connections => new() { MaxConnections = 1 };

        [Fact]
        public async Task A_connection_over_the_limit_is_closed_and_the_slot_frees_when_the_first_ends()
        {
            var first = Processes.RunAsync("ssh", SshArguments("alice+app@127.0.0.1", "echo started; sleep 3"), Timeout);
            Assert.True(await Eventually.WaitAsync(() => Logs.Lines.Any(l => l.Contains("authenticated", StringComparison.OrdinalIgnoreCase))),
                Logs.ToString());

            var refused = await Processes.RunAsync("ssh", SshArguments("alice+app@127.0.0.1", "echo second"), Timeout);
            Assert.Equal(255, refused.ExitCode);
            Assert.DoesNotContain("second", refused.StandardOutput, StringComparison.Ordinal);
            Assert.Contains(Logs.Lines, l => l.Contains("too many connections: this listener serves at most 1 at once (ssh.limits.maxConnections)", StringComparison.Ordinal));

            var done = await first;
            Assert.True(done.ExitCode == 0, done.ToString());
            Assert.True(await Eventually.WaitAsync(() => ActiveConnections == 0), "the first connection did not end");
            var again = await Processes.RunAsync("ssh", SshArguments("alice+app@127.0.0.1", "echo third"), Timeout);
            Assert.True(again.ExitCode == 0, again.ToString());
            Assert.Equal("third\n", again.StandardOutput);
        }
    }

    public sealed class PerIdentity(SshdFixture sshd) : WireSshTestBase(sshd), IClassFixture<SshdFixture>
    {
        protected override ConnectionLimits Connections => new() { MaxConnectionsPerIdentity = 1 };

        [Fact]
        public async Task A_second_login_of_the_same_identity_fails_with_a_banner_that_says_why()
        {
            var first = Processes.RunAsync("ssh", SshArguments("alice+app@127.0.0.1", "echo started; sleep 3"), Timeout);
            Assert.True(await Eventually.WaitAsync(() => Logs.Lines.Any(l => l.Contains("authenticated", StringComparison.OrdinalIgnoreCase))),
                Logs.ToString());

            var refused = await Processes.RunAsync("ssh", Loud(SshArguments("alice+app@127.0.0.1", "echo second")), Timeout);
            Assert.Equal(255, refused.ExitCode);
            Assert.Contains("too many connections for alice: at most 1 at once (ssh.limits.maxConnectionsPerIdentity)", refused.StandardError,
                StringComparison.Ordinal);
            Assert.Contains(Logs.Lines, l => l.Contains("too many connections for alice", StringComparison.Ordinal));

            Assert.Equal(0, (await first).ExitCode);
            Assert.True(await Eventually.WaitAsync(() => ActiveConnections == 0), "the first connection did not end");
            var again = await Processes.RunAsync("ssh", SshArguments("alice+app@127.0.0.1", "echo third"), Timeout);
            Assert.True(again.ExitCode == 0, again.ToString());
        }
    }

    public sealed class Idle(SshdFixture sshd) : WireSshTestBase(sshd), IClassFixture<SshdFixture>
    {
        // Long enough for sshd to start a command (a login shell can take a second here), short enough for a quick test.
        protected override ConnectionLimits Connections => new() { IdleTimeout = TimeSpan.FromSeconds(4) };

        [Fact]
        public async Task An_idle_session_is_disconnected_and_a_busy_one_is_not()
        {
            var busy = await Processes.RunAsync("ssh", SshArguments("alice+app@127.0.0.1", "for i in $(seq 1 24); do echo $i; sleep 0.25; done"), Timeout);
            Assert.True(busy.ExitCode == 0, busy + Logs.ToString());
            Assert.Equal(string.Concat(Enumerable.Range(1, 24).Select(i => i + "\n")), busy.StandardOutput);

            var idle = await Processes.RunAsync("ssh", Loud(SshArguments("alice+app@127.0.0.1", "echo started; sleep 20; echo never")), Timeout);
            Assert.Equal(255, idle.ExitCode);
            Assert.True(idle.StandardOutput == "started\n", idle + Logs.ToString());
            Assert.Contains("wire: session ended: idle for more than 00:00:04 (ssh.limits.idleTimeout)", idle.StandardError, StringComparison.Ordinal);
            Assert.Contains(Logs.Lines, l => l.Contains("idle for more than", StringComparison.Ordinal));
        }
    }

    public sealed class Packets(SshdFixture sshd) : WireSshTestBase(sshd), IClassFixture<SshdFixture>
    {
        protected override int? MaxPacketBytes => 40_000;

        [Fact]
        public async Task A_packet_longer_than_the_limit_ends_the_connection_as_a_protocol_error()
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, Port);
            var stream = client.GetStream();
            stream.ReadTimeout = 10_000;
            await stream.WriteAsync(Encoding.ASCII.GetBytes("SSH-2.0-LimitTest\r\n"));
            // packet_length 50000 (over the 40000 limit), then a little of the promised body.
            await stream.WriteAsync(new byte[] { 0, 0, 0xC3, 0x50, 10, 20 });

            var buffer = new byte[64 * 1024];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            int total = 0;
            while (true)
            {
                int n = await stream.ReadAsync(buffer, timeout.Token);
                if (n == 0)
                {
                    break;
                }
                total += n;
            }
            Assert.True(total > 0, "Wire never sent its version");
            Assert.True(await Eventually.WaitAsync(() => Logs.Lines.Any(l => l.Contains("packet length of 50000 bytes is outside 5..40000", StringComparison.Ordinal))),
                Logs.ToString());
        }
    }
}
