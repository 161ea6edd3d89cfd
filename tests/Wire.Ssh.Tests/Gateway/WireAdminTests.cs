using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Wire.Ssh.Tests.Infrastructure;
using Wire.Ssh.Tests.Keys;
using Wire.Testing;

namespace Wire.Ssh.Tests.Gateway;

/// <summary>
/// The admin API of <c>wire run</c> (docs/admin-api.md) with a real reviewed command: an SSH exec waits for review, a
/// reviewer sees it and approves it over the API, the command runs; tokens, groups and stale ids get 401/403/404/409;
/// recordings are listed and returned as recorded; metrics are in Prometheus format; every documented route exists.
/// </summary>
public sealed class WireAdminTests(SshdFixture sshd) : IClassFixture<SshdFixture>
{
    private const string AliceToken = "tok-alice-admin-5e1";
    private const string BobToken = "tok-bob-ops-77c";
    private const string CarolToken = "tok-carol-dev-90a";

    [Fact]
    public async Task A_reviewer_approves_a_waiting_ssh_command_over_the_api()
    {
        using var keys = new SshKeygen();
        var (wire, sshPort, admin) = await StartAsync(keys);
        await using (wire)
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{admin}"), Timeout = TimeSpan.FromSeconds(30) };
            Assert.Equal("ok", (await http.GetFromJsonAsync<JsonElement>("/healthz")).GetProperty("status").GetString());
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/approvals")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await AdminApi.SendAsync(http, HttpMethod.Get, "/api/approvals", "not-a-token")).StatusCode);

            var waiting = Processes.RunAsync("ssh", WireRunSsh.Ssh(sshPort, keys.PathOf("alice"), "alice+app", "echo reviewed-$((6*7))"), TimeSpan.FromSeconds(60));
            var pending = await PendingAsync(http);
            string id = pending.GetProperty("id").GetString()!;
            Assert.Equal("alice", pending.GetProperty("subject").GetString());
            Assert.Equal("ssh", pending.GetProperty("protocol").GetString());
            Assert.Equal("exec: echo reviewed-$((6*7))", pending.GetProperty("text").GetString());
            Assert.Equal("ask-ops", pending.GetProperty("rule").GetString());
            Assert.True(pending.GetProperty("mayDecide").GetBoolean());

            // carol (dev) is no approver of it: she does not see it, and may not read recordings or sessions.
            var carols = await (await AdminApi.SendAsync(http, HttpMethod.Get, "/api/approvals", CarolToken)).Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(0, carols.GetArrayLength());
            Assert.Equal(HttpStatusCode.Forbidden, (await AdminApi.SendAsync(http, HttpMethod.Get, "/api/recordings", CarolToken)).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await AdminApi.SendAsync(http, HttpMethod.Get, "/api/sessions", CarolToken)).StatusCode);

            var own = await AdminApi.SendAsync(http, HttpMethod.Post, $"/api/approvals/{id}/approve", AliceToken);
            Assert.Equal(HttpStatusCode.Forbidden, own.StatusCode);
            Assert.Equal("application/problem+json", own.Content.Headers.ContentType?.MediaType);
            Assert.Equal(HttpStatusCode.Forbidden, (await AdminApi.SendAsync(http, HttpMethod.Post, $"/api/approvals/{id}/approve", CarolToken)).StatusCode);
            Assert.False(waiting.IsCompleted);

            var approved = await AdminApi.SendAsync(http, HttpMethod.Post, $"/api/approvals/{id}/approve", BobToken);
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
            Assert.Equal("approved", (await approved.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outcome").GetString());
            var result = await waiting;
            Assert.True(result.ExitCode == 0, result.StandardError + wire.Output);
            Assert.Equal("reviewed-42\n", result.StandardOutput);

            Assert.Equal(HttpStatusCode.Conflict, (await AdminApi.SendAsync(http, HttpMethod.Post, $"/api/approvals/{id}/deny", BobToken)).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await AdminApi.SendAsync(http, HttpMethod.Post, "/api/approvals/nope/deny", BobToken)).StatusCode);

            // The session's recording: listed, verified, and returned as recorded (the approval with its approver).
            var recordings = await AdminApi.WaitForAsync(async () =>
            {
                var list = await (await AdminApi.SendAsync(http, HttpMethod.Get, "/api/recordings", BobToken)).Content.ReadFromJsonAsync<JsonElement>();
                return list.EnumerateArray().Any(r => r.GetProperty("status").GetString() == "ok") ? list : (JsonElement?)null;
            });
            string recording = recordings.EnumerateArray().First(r => r.GetProperty("status").GetString() == "ok").GetProperty("id").GetString()!;
            var records = await (await AdminApi.SendAsync(http, HttpMethod.Get, "/api/recordings/" + recording, BobToken)).Content.ReadFromJsonAsync<JsonElement>();
            Assert.Contains(records.GetProperty("records").EnumerateArray(), r => r.GetProperty("type").GetString() == "command"
                && r.GetProperty("outcome").GetString() == "approved" && r.GetProperty("approver").GetString() == "bob");
            Assert.Equal(HttpStatusCode.NotFound, (await AdminApi.SendAsync(http, HttpMethod.Get, "/api/recordings/..%2Fwire", BobToken)).StatusCode);

            // A live session: listed with its identity and traffic, and ended over the API (the client is told why).
            var sleeping = Processes.RunAsync("ssh", WireRunSsh.Ssh(sshPort, keys.PathOf("alice"), "alice+app", "echo started; sleep 30"), TimeSpan.FromSeconds(60));
            var live = await AdminApi.WaitForAsync(async () =>
            {
                var list = await (await AdminApi.SendAsync(http, HttpMethod.Get, "/api/sessions", BobToken)).Content.ReadFromJsonAsync<JsonElement>();
                return list.EnumerateArray().Where(x => x.GetProperty("commands").GetInt64() > 0).Select(x => (JsonElement?)x).FirstOrDefault();
            });
            Assert.Equal("alice", live.GetProperty("subject").GetString());
            Assert.Equal("ssh", live.GetProperty("protocol").GetString());
            Assert.Equal("app", live.GetProperty("target").GetString());
            Assert.Equal(HttpStatusCode.Forbidden, (await AdminApi.SendAsync(http, HttpMethod.Delete, "/api/sessions/" + live.GetProperty("id").GetString(), CarolToken)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await AdminApi.SendAsync(http, HttpMethod.Delete, "/api/sessions/" + live.GetProperty("id").GetString(), BobToken)).StatusCode);
            var ended = await sleeping.WaitAsync(TimeSpan.FromSeconds(15));
            Assert.Equal(255, ended.ExitCode);
            Assert.Contains("ended by an administrator: bob", ended.StandardError, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.NotFound, (await AdminApi.SendAsync(http, HttpMethod.Delete, "/api/sessions/" + live.GetProperty("id").GetString(), BobToken)).StatusCode);

            string metrics = await http.GetStringAsync("/metrics");
            Assert.Contains("wire_commands_total{", metrics, StringComparison.Ordinal);
            Assert.Matches("wire_commands_total\\{[^}]*wire_verdict=\"review\"", metrics);
            Assert.Matches("wire_approval_wait_seconds_count\\{[^}]*wire_outcome=\"approved\"[^}]*\\} 1", metrics);
        }
    }

    [Fact]
    public async Task Stopping_the_gateway_refuses_pending_reviews_and_tells_the_client()
    {
        using var keys = new SshKeygen();
        var (wire, sshPort, admin) = await StartAsync(keys);
        await using (wire)
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{admin}"), Timeout = TimeSpan.FromSeconds(30) };
            var waiting = Processes.RunAsync("ssh", WireRunSsh.Ssh(sshPort, keys.PathOf("alice"), "alice+app", "echo reviewed-never"), TimeSpan.FromSeconds(60));
            await PendingAsync(http);
            wire.Signal(System.Runtime.InteropServices.PosixSignal.SIGTERM);
            var result = await waiting;
            Assert.Equal(126, result.ExitCode);
            Assert.Equal("wire: review by rule ask-ops was cancelled\r\n", result.StandardError);
            Assert.Equal("", result.StandardOutput);
            Assert.Equal(0, await wire.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains("pending reviews cancelled", wire.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Every_documented_route_exists()
    {
        string doc = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "admin-api.md"));
        var routes = Regex.Matches(doc, @"^### `(GET|POST|DELETE) (/[^`]*)`", RegexOptions.Multiline).Select(m => (m.Groups[1].Value, m.Groups[2].Value)).ToList();
        Assert.True(routes.Count >= 8, $"{routes.Count} routes documented");
        using var keys = new SshKeygen();
        var (wire, _, admin) = await StartAsync(keys);
        await using (wire)
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{admin}"), Timeout = TimeSpan.FromSeconds(30) };
            // The approval page may run only its own inline code and may not be framed.
            using (var page = await http.GetAsync("/approvals"))
            {
                string policy = string.Join(' ', page.Headers.GetValues("Content-Security-Policy"));
                Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
                Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
                Assert.Equal("DENY", Assert.Single(page.Headers.GetValues("X-Frame-Options")));
            }
            foreach (var (method, route) in routes)
            {
                var response = await AdminApi.SendAsync(http, new HttpMethod(method), route.Replace("{id}", "no-such-id", StringComparison.Ordinal), BobToken);
                // A route Wire serves answers for itself: a 404 from it is a problem document, a missing route an empty 404.
                bool served = response.StatusCode != HttpStatusCode.NotFound || response.Content.Headers.ContentType?.MediaType == "application/problem+json";
                Assert.True(served, $"{method} {route}: {(int)response.StatusCode}");
            }
        }
    }

    private static async Task<JsonElement> PendingAsync(HttpClient http) => await AdminApi.WaitForAsync(async () =>
    {
        var list = await (await AdminApi.SendAsync(http, HttpMethod.Get, "/api/approvals", BobToken)).Content.ReadFromJsonAsync<JsonElement>();
        return list.GetArrayLength() > 0 ? list[0] : (JsonElement?)null;
    });

    private async Task<(WireProcess Wire, int SshPort, int AdminPort)> StartAsync(SshKeygen keys)
    {
        keys.Generate("alice", "ed25519");
        File.WriteAllText(keys.PathOf("known_hosts"), sshd.KnownHostsLine + "\n");
        File.WriteAllText(keys.PathOf("recording.key"), "admin-recording-key-0123456789abcdef0123456789abcdef\n");
        int sshPort = WireSshHarness.FreePort();
        int adminPort = WireSshHarness.FreePort();
        File.WriteAllText(keys.PathOf("wire.json"), $$"""
            {
              "identity": {
                "tokens": [
                  { "token": "{{AliceToken}}", "subject": "alice", "groups": ["dev", "ops"] },
                  { "token": "{{BobToken}}", "subject": "bob", "groups": ["ops"] },
                  { "token": "{{CarolToken}}", "subject": "carol", "groups": ["dev"] }
                ],
                "users": [ { "subject": "alice", "groups": ["dev", "ops"], "sshKeys": [ "{{keys.PublicLine("alice")}}" ] } ]
              },
              "rules": [ { "name": "ask-ops", "action": "review", "commands": ["echo reviewed-*"], "approvers": ["ops"], "timeout": "00:01:00" } ],
              "recording": { "directory": "recordings", "key": "file:recording.key" },
              "admin": { "listen": "127.0.0.1:{{adminPort}}", "groups": ["ops"] },
              "ssh": {
                "listen": "127.0.0.1:{{sshPort}}",
                "targets": [ { "name": "app", "host": "127.0.0.1", "port": {{sshd.Port}}, "username": "{{sshd.UserName}}",
                               "privateKey": "{{sshd.ClientKeyPath}}", "knownHosts": "known_hosts" } ]
              }
            }
            """);
        var wire = WireProcess.Start("run", "--config", keys.PathOf("wire.json"));
        await wire.WaitForAsync("Admin API and approval page listening", TimeSpan.FromSeconds(30));
        await wire.WaitForAsync("Listening for ssh", TimeSpan.FromSeconds(30));
        return (wire, sshPort, adminPort);
    }



    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Wire.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("Wire.sln not found above " + AppContext.BaseDirectory);
    }
}
