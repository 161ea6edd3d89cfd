using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Wire.Ssh.Tests.Infrastructure;
using Wire.Ssh.Tests.Keys;
using Wire.Testing;

namespace Wire.Ssh.Tests.Gateway;

/// <summary>
/// Just-in-time grants (issue 9) with <c>wire run</c> as a real process, a real sshd and OpenSSH's <c>ssh</c>: a target
/// with <c>requireGrant</c> refuses a login without a valid grant (with a banner that says why), admits it while an
/// approved grant lasts, ends the session it admitted when the grant expires, and refuses again afterwards. The admin
/// API's grant routes answer who may decide with 403, stale decisions with 409, and each grant has its own recording.
/// </summary>
public sealed class WireGrantSshTests(SshdFixture sshd) : IClassFixture<SshdFixture>
{
    private const string AliceToken = "tok-alice-dev-3b7";
    private const string BobToken = "tok-bob-ops-c41";
    private const string CarolToken = "tok-carol-dev-e92";
    private const string NoGrant = "no valid grant for target \"app\"";

    [Fact]
    public async Task An_approved_grant_admits_its_requester_until_it_expires_and_then_ends_the_session()
    {
        using var keys = new SshKeygen();
        var (wire, sshPort, admin) = await StartAsync(keys);
        await using (wire)
        {
            using var http = AdminApi.Client(admin);

            // (a) No grant: the login fails, and ssh shows Wire's banner with what to do.
            var refused = await SshAsync(keys, sshPort, "echo hi");
            Assert.True(refused.ExitCode == 255, $"exit {refused.ExitCode}: {refused.StandardError}");
            Assert.Contains("wire: " + NoGrant + ": ask for one (POST /api/grants on the admin API) and wait for its approval",
                refused.StandardError, StringComparison.Ordinal);
            Assert.Equal("", refused.StandardOutput);

            // (b) alice asks; neither carol (no approver) nor alice herself may approve; pending admits nobody.
            var requested = await AdminApi.SendAsync(http, HttpMethod.Post, "/api/grants", AliceToken,
                new { target = "app", duration = "00:00:08", reason = "incident 12" });
            Assert.Equal(HttpStatusCode.Created, requested.StatusCode);
            var grant = await requested.Content.ReadFromJsonAsync<JsonElement>();
            string id = grant.GetProperty("id").GetString()!;
            Assert.StartsWith("grant-", id, StringComparison.Ordinal);
            Assert.Equal("alice", grant.GetProperty("subject").GetString());
            Assert.Equal("app", grant.GetProperty("target").GetString());
            Assert.Equal("00:00:08", grant.GetProperty("duration").GetString());
            Assert.Equal("incident 12", grant.GetProperty("reason").GetString());
            Assert.Equal("pending", grant.GetProperty("status").GetString());
            Assert.False(grant.GetProperty("mayDecide").GetBoolean());
            Assert.True(grant.GetProperty("mayRevoke").GetBoolean());
            Assert.Equal(JsonValueKind.Null, grant.GetProperty("expiresAt").ValueKind);
            string recording = grant.GetProperty("recording").GetString()!;
            Assert.False(string.IsNullOrEmpty(recording));

            var asBob = await (await AdminApi.SendAsync(http, HttpMethod.Get, "/api/grants/" + id, BobToken)).Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(asBob.GetProperty("mayDecide").GetBoolean());

            var own = await AdminApi.SendAsync(http, HttpMethod.Post, $"/api/grants/{id}/approve", AliceToken);
            Assert.Equal(HttpStatusCode.Forbidden, own.StatusCode);
            Assert.Equal("application/problem+json", own.Content.Headers.ContentType?.MediaType);
            var pending = await SshAsync(keys, sshPort, "echo hi");
            Assert.True(pending.ExitCode == 255, $"exit {pending.ExitCode}: {pending.StandardError}");
            Assert.Contains(NoGrant, pending.StandardError, StringComparison.Ordinal);

            var approved = await AdminApi.SendAsync(http, HttpMethod.Post, $"/api/grants/{id}/approve", BobToken);
            Assert.Equal(HttpStatusCode.OK, approved.StatusCode);
            grant = await approved.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("active", grant.GetProperty("status").GetString());
            Assert.Equal("bob", grant.GetProperty("decidedBy").GetString());
            var expiresAt = grant.GetProperty("expiresAt").GetDateTimeOffset();
            var decidedAt = grant.GetProperty("decidedAt").GetDateTimeOffset();
            Assert.InRange((expiresAt - decidedAt).TotalSeconds, 7.9, 8.1);

            var admitted = await SshAsync(keys, sshPort, "echo hi");
            Assert.True(admitted.ExitCode == 0, admitted.StandardError + wire.Output);
            Assert.Equal("hi\n", admitted.StandardOutput);

            // (c) A session the grant admitted ends when the grant expires, and the client is told why.
            var clock = Stopwatch.StartNew();
            var sleeping = Processes.RunAsync("ssh", Ssh(keys, sshPort, "echo started; sleep 60"), TimeSpan.FromSeconds(60));
            var live = await AdminApi.WaitForAsync(async () =>
            {
                var list = await (await AdminApi.SendAsync(http, HttpMethod.Get, "/api/sessions", BobToken)).Content.ReadFromJsonAsync<JsonElement>();
                return list.EnumerateArray().Where(s => s.GetProperty("commands").GetInt64() > 0).Select(s => (JsonElement?)s).FirstOrDefault();
            });
            Assert.Equal("alice", live.GetProperty("subject").GetString());
            Assert.False(sleeping.IsCompleted);
            var ended = await sleeping.WaitAsync(TimeSpan.FromSeconds(20));
            var endedAt = DateTimeOffset.UtcNow;
            Assert.True(ended.ExitCode == 255, $"exit {ended.ExitCode}: {ended.StandardError}");
            Assert.Equal("started\n", ended.StandardOutput);
            Assert.Contains($"wire: session ended because grant {id} for target \"app\" expired", ended.StandardError, StringComparison.Ordinal);
            Assert.True(endedAt >= expiresAt - TimeSpan.FromMilliseconds(500), $"ended at {endedAt:O}, before the grant's expiry {expiresAt:O}");
            Assert.True(endedAt <= expiresAt + TimeSpan.FromSeconds(5), $"ended at {endedAt:O}, long after the grant's expiry {expiresAt:O}");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the session lasted {clock.Elapsed}");

            // (d) After expiry nobody is admitted again.
            var after = await SshAsync(keys, sshPort, "echo hi");
            Assert.True(after.ExitCode == 255, $"exit {after.ExitCode}: {after.StandardError}");
            Assert.Contains(NoGrant, after.StandardError, StringComparison.Ordinal);
            Assert.Equal("", after.StandardOutput);

            // (e) The grant is expired; its recording tells its life in order; the session's recording names the grant.
            grant = await (await AdminApi.SendAsync(http, HttpMethod.Get, "/api/grants/" + id, AliceToken)).Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("expired", grant.GetProperty("status").GetString());
            Assert.NotEqual(JsonValueKind.Null, grant.GetProperty("endedAt").ValueKind);
            Assert.False(grant.GetProperty("mayRevoke").GetBoolean());
            Assert.Equal(HttpStatusCode.Conflict, (await AdminApi.SendAsync(http, HttpMethod.Delete, "/api/grants/" + id, AliceToken)).StatusCode);

            var grantRecording = await AdminApi.WaitForAsync(async () =>
            {
                var document = await (await AdminApi.SendAsync(http, HttpMethod.Get, "/api/recordings/" + recording, BobToken)).Content.ReadFromJsonAsync<JsonElement>();
                return document.GetProperty("status").GetString() == "ok" ? document : (JsonElement?)null;
            });
            Assert.Equal(recording, grantRecording.GetProperty("id").GetString());
            var records = grantRecording.GetProperty("records").EnumerateArray().ToList();
            Assert.Equal(["session.start", "grant.requested", "grant.approved", "grant.expired", "session.end"],
                records.Select(r => r.GetProperty("type").GetString()));
            Assert.Equal("grant", records[0].GetProperty("protocol").GetString());
            Assert.Equal("alice", records[0].GetProperty("subject").GetString());
            Assert.Equal("app", records[0].GetProperty("target").GetString());
            Assert.Equal(id, records[1].GetProperty("grant").GetString());
            Assert.Equal("incident 12", records[1].GetProperty("reason").GetString());
            Assert.Equal("bob", records[2].GetProperty("by").GetString());

            var sessionRecordings = await AdminApi.WaitForAsync(async () =>
            {
                var list = await (await AdminApi.SendAsync(http, HttpMethod.Get, "/api/recordings", BobToken)).Content.ReadFromJsonAsync<JsonElement>();
                var ok = list.EnumerateArray().Where(r => r.GetProperty("id").GetString() != recording && r.GetProperty("status").GetString() == "ok").ToList();
                return ok.Count >= 2 ? list : (JsonElement?)null;
            });
            int sessionsUnderGrant = 0;
            foreach (var listed in sessionRecordings.EnumerateArray().Where(r => r.GetProperty("id").GetString() != recording))
            {
                var document = await (await AdminApi.SendAsync(http, HttpMethod.Get, "/api/recordings/" + listed.GetProperty("id").GetString(), BobToken))
                    .Content.ReadFromJsonAsync<JsonElement>();
                var start = document.GetProperty("records")[0];
                if (start.GetProperty("protocol").GetString() == "ssh")
                {
                    Assert.Equal(id, start.GetProperty("grant").GetString());
                    sessionsUnderGrant++;
                }
            }
            Assert.Equal(2, sessionsUnderGrant);
        }
    }

    [Fact]
    public async Task Only_approvers_decide_grants_and_a_denied_grant_admits_nobody()
    {
        using var keys = new SshKeygen();
        var (wire, sshPort, admin) = await StartAsync(keys);
        await using (wire)
        {
            using var http = AdminApi.Client(admin);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/grants")).StatusCode);
            await AssertBadRequestAsync(http, new { target = "nope", duration = "00:00:08", reason = "x" });
            await AssertBadRequestAsync(http, new { target = "app", duration = "00:02:00", reason = "longer than grants.maxDuration" });
            await AssertBadRequestAsync(http, new { target = "app", duration = "soon", reason = "x" });
            await AssertBadRequestAsync(http, new { target = "app", duration = "00:00:08" });
            await AssertBadRequestAsync(http, new[] { "app" });

            var requested = await AdminApi.SendAsync(http, HttpMethod.Post, "/api/grants", AliceToken, new { target = "app", duration = "00:00:30", reason = "deploy" });
            Assert.Equal(HttpStatusCode.Created, requested.StatusCode);
            string id = (await requested.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

            // Who sees it: alice (her own) and bob (an approver), not carol.
            Assert.Contains(await ListAsync(http, AliceToken), g => g.GetProperty("id").GetString() == id);
            Assert.Contains(await ListAsync(http, BobToken), g => g.GetProperty("id").GetString() == id);
            Assert.DoesNotContain(await ListAsync(http, CarolToken), g => g.GetProperty("id").GetString() == id);
            Assert.Equal(HttpStatusCode.NotFound, (await AdminApi.SendAsync(http, HttpMethod.Get, "/api/grants/no-such-grant", BobToken)).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await AdminApi.SendAsync(http, HttpMethod.Post, "/api/grants/no-such-grant/approve", BobToken)).StatusCode);

            var own = await AdminApi.SendAsync(http, HttpMethod.Post, $"/api/grants/{id}/approve", AliceToken);
            Assert.Equal(HttpStatusCode.Forbidden, own.StatusCode);
            Assert.Equal("application/problem+json", own.Content.Headers.ContentType?.MediaType);
            var carols = await AdminApi.SendAsync(http, HttpMethod.Post, $"/api/grants/{id}/approve", CarolToken);
            Assert.True(carols.StatusCode == HttpStatusCode.Forbidden, $"carol (no approver) approving: {(int)carols.StatusCode} {await carols.Content.ReadAsStringAsync()}");
            Assert.Equal("application/problem+json", carols.Content.Headers.ContentType?.MediaType);
            Assert.Equal("pending", await StatusAsync(http, id));

            var denied = await AdminApi.SendAsync(http, HttpMethod.Post, $"/api/grants/{id}/deny", BobToken);
            Assert.Equal(HttpStatusCode.OK, denied.StatusCode);
            var grant = await denied.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("denied", grant.GetProperty("status").GetString());
            Assert.Equal("bob", grant.GetProperty("decidedBy").GetString());
            Assert.Equal("denied", await StatusAsync(http, id));

            var refused = await SshAsync(keys, sshPort, "echo hi");
            Assert.True(refused.ExitCode == 255, $"exit {refused.ExitCode}: {refused.StandardError}");
            Assert.Contains(NoGrant, refused.StandardError, StringComparison.Ordinal);
            Assert.Equal("", refused.StandardOutput);

            var late = await AdminApi.SendAsync(http, HttpMethod.Post, $"/api/grants/{id}/approve", BobToken);
            Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
            Assert.Equal("application/problem+json", late.Content.Headers.ContentType?.MediaType);
            Assert.Equal(HttpStatusCode.Conflict, (await AdminApi.SendAsync(http, HttpMethod.Delete, "/api/grants/" + id, AliceToken)).StatusCode);
            Assert.Equal("denied", await StatusAsync(http, id));

            // A pending grant its requester withdraws is revoked, and approving it then is too late.
            requested = await AdminApi.SendAsync(http, HttpMethod.Post, "/api/grants", AliceToken, new { target = "app", duration = "00:00:30", reason = "retry" });
            string second = (await requested.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            // carol, neither its requester nor an approver, may not end it (she is not told it exists, or told no).
            var carolDelete = (await AdminApi.SendAsync(http, HttpMethod.Delete, "/api/grants/" + second, CarolToken)).StatusCode;
            Assert.True(carolDelete is HttpStatusCode.Forbidden or HttpStatusCode.NotFound, $"carol ending alice's grant: {(int)carolDelete}");
            Assert.Equal("pending", await StatusAsync(http, second));
            var withdrawn = await AdminApi.SendAsync(http, HttpMethod.Delete, "/api/grants/" + second, AliceToken);
            Assert.Equal(HttpStatusCode.OK, withdrawn.StatusCode);
            Assert.Equal("revoked", (await withdrawn.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
            Assert.Equal(HttpStatusCode.Conflict, (await AdminApi.SendAsync(http, HttpMethod.Post, $"/api/grants/{second}/approve", BobToken)).StatusCode);
            Assert.Equal(HttpStatusCode.Conflict, (await AdminApi.SendAsync(http, HttpMethod.Delete, "/api/grants/" + second, AliceToken)).StatusCode);
        }
    }

    private static async Task AssertBadRequestAsync(HttpClient http, object body)
    {
        var response = await AdminApi.SendAsync(http, HttpMethod.Post, "/api/grants", AliceToken, body);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{JsonSerializer.Serialize(body)}: {(int)response.StatusCode}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    private static async Task<List<JsonElement>> ListAsync(HttpClient http, string token)
    {
        var response = await AdminApi.SendAsync(http, HttpMethod.Get, "/api/grants", token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. (await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray()];
    }

    private static async Task<string?> StatusAsync(HttpClient http, string id)
    {
        var response = await AdminApi.SendAsync(http, HttpMethod.Get, "/api/grants/" + id, AliceToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString();
    }

    /// <summary>
    /// OpenSSH arguments as <see cref="WireRunSsh.Ssh"/> builds them, at ssh's default log level: ssh prints a server's
    /// banner only at INFO and above, and a user without a config sees it.
    /// </summary>
    private static string[] Ssh(SshKeygen keys, int port, string command) =>
        [.. WireRunSsh.Ssh(port, keys.PathOf("alice"), "alice+app", command).Select(a => a == "LogLevel=ERROR" ? "LogLevel=INFO" : a)];

    private static Task<Processes.Result> SshAsync(SshKeygen keys, int port, string command) =>
        Processes.RunAsync("ssh", Ssh(keys, port, command), TimeSpan.FromSeconds(30));

    private async Task<(WireProcess Wire, int SshPort, int AdminPort)> StartAsync(SshKeygen keys)
    {
        keys.Generate("alice", "ed25519");
        File.WriteAllText(keys.PathOf("known_hosts"), sshd.KnownHostsLine + "\n");
        File.WriteAllText(keys.PathOf("recording.key"), "grant-recording-key-0123456789abcdef0123456789abcdef\n");
        int sshPort = WireSshHarness.FreePort();
        int adminPort = WireSshHarness.FreePort();
        File.WriteAllText(keys.PathOf("wire.json"), $$"""
            {
              "identity": {
                "tokens": [
                  { "token": "{{AliceToken}}", "subject": "alice", "groups": ["dev"] },
                  { "token": "{{BobToken}}", "subject": "bob", "groups": ["ops"] },
                  { "token": "{{CarolToken}}", "subject": "carol", "groups": ["dev"] }
                ],
                "users": [ { "subject": "alice", "groups": ["dev"], "sshKeys": [ "{{keys.PublicLine("alice")}}" ] } ]
              },
              "recording": { "directory": "recordings", "key": "file:recording.key" },
              "admin": { "listen": "127.0.0.1:{{adminPort}}", "groups": ["ops"] },
              "grants": { "approvers": ["ops"], "maxDuration": "00:01:00" },
              "ssh": {
                "listen": "127.0.0.1:{{sshPort}}",
                "targets": [ { "name": "app", "host": "127.0.0.1", "port": {{sshd.Port}}, "username": "{{sshd.UserName}}",
                               "privateKey": "{{sshd.ClientKeyPath}}", "knownHosts": "known_hosts", "requireGrant": true } ]
              }
            }
            """);
        var wire = WireProcess.Start("run", "--config", keys.PathOf("wire.json"));
        await wire.WaitForAsync("Admin API and approval page listening", TimeSpan.FromSeconds(30));
        await wire.WaitForAsync("Listening for ssh", TimeSpan.FromSeconds(30));
        return (wire, sshPort, adminPort);
    }
}
