using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Wire.Ssh.Tests.Infrastructure;
using Wire.Ssh.Tests.Keys;
using Wire.Testing;

namespace Wire.Ssh.Tests.Gateway;

/// <summary>
/// The relay metrics of <c>wire run</c> (docs/admin-api.md, <c>GET /metrics</c> and "Telemetry") for every protocol, against real peers:
/// OpenSSH through Wire to the fixture's sshd, HttpClient through Wire to a local HTTP server, psql through Wire to a
/// throwaway PostgreSQL (the one <c>wire demo</c> starts). An email detector masks a value in each; the scrape shows
/// bytes and added latency per protocol and direction, and the masked values per protocol.
/// </summary>
public sealed class WireMetricsTests(SshdFixture sshd) : IClassFixture<SshdFixture>
{
    private const string Token = "tok-metrics-alice-3f9";
    private const string Email = "alice@example.com";
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Bytes_latency_and_masked_values_are_exported_per_protocol()
    {
        using var keys = new SshKeygen();
        await using var postgres = WireProcess.Start("demo", "--port", WireSshHarness.FreePort().ToString(CultureInfo.InvariantCulture));
        try
        {
            await postgres.WaitForAsync("in front of a throwaway PostgreSQL", TimeSpan.FromSeconds(180));
            var port = Regex.Match(postgres.Output, @"throwaway PostgreSQL \(port (\d+)\)").Groups[1].Value;
            using var backend = new JsonBackend();
            var (wire, ports) = await StartAsync(keys, int.Parse(port, CultureInfo.InvariantCulture), backend.Port);
            await using (wire)
            {
                await SshAsync(wire, ports, keys);
                await HttpAsync(ports);
                await PsqlAsync(wire, ports);

                using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ports.Admin}"), Timeout = Limit };
                string metrics = "";
                bool complete = await WaitAsync(async () =>
                {
                    metrics = await admin.GetStringAsync("/metrics");
                    return Missing(metrics).Count == 0;
                });
                Assert.True(complete, "missing: " + string.Join(", ", Missing(metrics)) + "\n" + metrics);
            }
        }
        finally
        {
            // Ctrl-C-like stop: wire demo deletes its PostgreSQL (a killed process would leave the server running).
            postgres.Signal(PosixSignal.SIGTERM);
            await postgres.WaitForExitAsync(TimeSpan.FromSeconds(60));
        }
    }

    /// <summary>
    /// stdin echoed back by cat, an email first (longer than the masker's hold-back, so most of it goes out at once). sshd
    /// opens its window only once cat runs: the second line, sent after the first came back, is relayed at once rather than
    /// waiting for the window.
    /// </summary>
    private static async Task SshAsync(WireProcess wire, Ports ports, SshKeygen keys)
    {
        string first = Email + " " + new string('x', 300);
        using var ssh = Process.Start(Processes.StartInfo("ssh", WireRunSsh.Ssh(ports.Ssh, keys.PathOf("alice"), "alice+app", "cat")))!;
        try
        {
            var errors = ssh.StandardError.ReadToEndAsync();
            await ssh.StandardInput.WriteLineAsync(first);
            await ssh.StandardInput.FlushAsync();
            string? echoed = await ssh.StandardOutput.ReadLineAsync().WaitAsync(Limit);
            Assert.Equal(new string('*', Email.Length) + first[Email.Length..], echoed);
            await ssh.StandardInput.WriteLineAsync("second line");
            ssh.StandardInput.Close();
            Assert.Equal("second line\n", await ssh.StandardOutput.ReadToEndAsync().WaitAsync(Limit));
            await ssh.WaitForExitAsync().WaitAsync(Limit);
            Assert.True(ssh.ExitCode == 0, await errors + wire.Output);
        }
        finally
        {
            if (!ssh.HasExited)
            {
                ssh.Kill(entireProcessTree: true);
            }
        }
    }

    /// <summary>A request with a body; the JSON response holds an email.</summary>
    private static async Task HttpAsync(Ports ports)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ports.Http}"), Timeout = Limit };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var response = await http.PostAsync("/users", new StringContent("{\"find\":\"alice\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string json = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(Email, json, StringComparison.Ordinal);
        Assert.Contains("\"name\":\"alice\"", json, StringComparison.Ordinal);
    }

    /// <summary>A computed value holding an email.</summary>
    private static async Task PsqlAsync(WireProcess wire, Ports ports)
    {
        var psql = await Processes.RunAsync("psql",
        [
            "-X", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=1",
            $"host=127.0.0.1 port={ports.Postgres} dbname=db user=alice password={Token} sslmode=disable connect_timeout=10",
            "-c", $"SELECT 'mail ' || '{Email}' AS contact",
        ], Limit);
        Assert.True(psql.ExitCode == 0, psql.StandardError + wire.Output);
        Assert.DoesNotContain(Email, psql.StandardOutput, StringComparison.Ordinal);
        Assert.StartsWith("mail ", psql.StandardOutput, StringComparison.Ordinal);
    }

    /// <summary>The series the scrape must show with a value above zero.</summary>
    private static List<string> Missing(string metrics)
    {
        var missing = new List<string>();
        foreach (string protocol in (string[])["ssh", "http", "postgresql"])
        {
            foreach (string direction in (string[])["to_upstream", "to_client"])
            {
                Require(metrics, missing, "wire_bytes_total", protocol, direction);
                Require(metrics, missing, "wire_proxy_added_latency_milliseconds_count", protocol, direction);
            }
            Require(metrics, missing, "wire_masked_total", protocol, null);
        }
        return missing;
    }

    private static void Require(string metrics, List<string> missing, string name, string protocol, string? direction)
    {
        foreach (Match series in Regex.Matches(metrics, "^" + Regex.Escape(name) + @"\{([^}]*)\} (\S+)", RegexOptions.Multiline))
        {
            string labels = series.Groups[1].Value;
            if (labels.Contains($"network_protocol_name=\"{protocol}\"", StringComparison.Ordinal)
                && (direction is null || labels.Contains($"wire_direction=\"{direction}\"", StringComparison.Ordinal))
                && double.Parse(series.Groups[2].Value, CultureInfo.InvariantCulture) > 0)
            {
                return;
            }
        }
        missing.Add($"{name}{{{protocol}{(direction is null ? "" : "," + direction)}}}");
    }

    /// <summary>Whether <paramref name="probe"/> held within 30 seconds (checked every 200 ms).</summary>
    private static async Task<bool> WaitAsync(Func<Task<bool>> probe)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await probe())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            await Task.Delay(200);
        }
        return true;
    }

    private sealed record Ports(int Ssh, int Http, int Postgres, int Admin);

    private async Task<(WireProcess Wire, Ports Ports)> StartAsync(SshKeygen keys, int postgresPort, int backendPort)
    {
        keys.Generate("alice", "ed25519");
        File.WriteAllText(keys.PathOf("known_hosts"), sshd.KnownHostsLine + "\n");
        var ports = new Ports(WireSshHarness.FreePort(), WireSshHarness.FreePort(), WireSshHarness.FreePort(), WireSshHarness.FreePort());
        File.WriteAllText(keys.PathOf("wire.json"), $$"""
            {
              "identity": {
                "tokens": [ { "token": "{{Token}}", "subject": "alice", "groups": ["dev", "ops"] } ],
                "users": [ { "subject": "alice", "groups": ["dev", "ops"], "sshKeys": [ "{{keys.PublicLine("alice")}}" ] } ]
              },
              "rules": [ { "name": "emails", "action": "mask", "detectors": ["email"] } ],
              "admin": { "listen": "127.0.0.1:{{ports.Admin}}", "groups": ["ops"] },
              "ssh": {
                "listen": "127.0.0.1:{{ports.Ssh}}",
                "targets": [ { "name": "app", "host": "127.0.0.1", "port": {{sshd.Port}}, "username": "{{sshd.UserName}}",
                               "privateKey": "{{sshd.ClientKeyPath}}", "knownHosts": "known_hosts" } ]
              },
              "http": {
                "listen": "127.0.0.1:{{ports.Http}}",
                "targets": [ { "name": "api", "url": "http://127.0.0.1:{{backendPort}}" } ]
              },
              "postgres": {
                "listen": "127.0.0.1:{{ports.Postgres}}",
                "targets": [ { "name": "db", "host": "127.0.0.1", "port": {{postgresPort}}, "database": "demo", "username": "wire_admin",
                               "sslMode": "disable" } ]
              },
              "shutdownTimeout": "00:00:05"
            }
            """);
        var wire = WireProcess.Start("run", "--config", keys.PathOf("wire.json"));
        await wire.WaitForAsync("Admin API and approval page listening", TimeSpan.FromSeconds(30));
        await wire.WaitForAsync("Listening for ssh", TimeSpan.FromSeconds(30));
        await wire.WaitForAsync("Listening for http", TimeSpan.FromSeconds(30));
        await wire.WaitForAsync("Listening for postgres", TimeSpan.FromSeconds(30));
        return (wire, ports);
    }

    /// <summary>A local HTTP server answering every request with a small JSON document that holds an email.</summary>
    private sealed class JsonBackend : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _loop;

        public JsonBackend()
        {
            Port = WireSshHarness.FreePort();
            _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
            _listener.Start();
            _loop = ServeAsync();
        }

        public int Port { get; }

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }
                using (var reader = new StreamReader(context.Request.InputStream))
                {
                    await reader.ReadToEndAsync();
                }
                byte[] body = Encoding.UTF8.GetBytes($$"""{"name":"alice","email":"{{Email}}"}""");
                context.Response.ContentType = "application/json";
                context.Response.ContentLength64 = body.Length;
                await context.Response.OutputStream.WriteAsync(body);
                context.Response.Close();
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _loop.Wait(TimeSpan.FromSeconds(10));
            _listener.Close();
        }
    }
}
