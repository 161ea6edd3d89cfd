using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Wire.Testing;

namespace Wire.Http.Tests.Security;

/// <summary>
/// Security checklist (docs/security.md), HTTP: the credentials Wire injects toward its targets never reach the client,
/// and neither they nor any client token reach the gateway's log (at trace level), its recordings or its admin API.
/// HttpClient talks to <c>wire run</c> through a <see cref="TcpTap"/> that keeps every byte Wire sends it: responses of a
/// generic target (JSON, a redirect, a 500, the target's own 401), a Kubernetes target (a list, a denial as
/// <c>metav1.Status</c>), a target keyed by <c>X-Api-Key</c>, a masked target that echoes the request fields back (so
/// the injected credential is in the upstream's body), Wire's own 401, 404, 502 and 400, and the admin API's 401.
/// </summary>
public sealed class HttpSecretExposureTests : IDisposable
{
    private const string Token = "tok-http-alice-Z4kq8Rw2";
    private const string AdminToken = "tok-http-admin-M6ty1Pc9";
    private const string BadToken = "tok-http-wrong-B8sd3Lx5";
    private const string AdminBadToken = "tok-http-admin-bad-V2gn7Ke4";
    private const string ApiSecret = "api-upstream-secret-5d0c2b9e71a84f36";
    private const string KubeSecret = "kube-upstream-secret-a3f81e6c40d2b597";
    private const string KeySecret = "key-upstream-secret-8e2d47b1c9f03a65";
    private const string EchoSecret = "echo-upstream-secret-16c9d3f7e0a5b284";
    private const string RecordingKey = "http-security-recording-key-7b3e9a1d5c0f2468";
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private readonly string _directory = Directory.CreateTempSubdirectory("wire-http-secrets-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Target_credentials_and_tokens_never_reach_the_client_the_log_the_recordings_or_the_admin_api()
    {
        await using var upstream = await CredentialCheckingUpstream.StartAsync(
        [
            ("Authorization", "Bearer " + ApiSecret), ("Authorization", "Bearer " + KubeSecret), ("X-Api-Key", KeySecret),
            ("Authorization", "Bearer " + EchoSecret),
        ], """{"status":"ok"}""");
        int port = TlsProbe.FreePort();
        int admin = TlsProbe.FreePort();
        File.WriteAllText(Path.Combine(_directory, "api.credential"), "Bearer " + ApiSecret + "\n");
        File.WriteAllText(Path.Combine(_directory, "recording.key"), RecordingKey);
        await using var wire = await WireRun.StartFromAsync(WireProcess.GatewayBuildOutput(), null, _directory, $$"""
            {
              "identity": { "tokens": [
                { "token": "{{Token}}", "subject": "alice", "groups": ["dev"] },
                { "token": "{{AdminToken}}", "subject": "root", "groups": ["admin"] } ] },
              "http": {
                "listen": "127.0.0.1:{{port}}",
                "targets": [
                  { "name": "api", "url": "{{upstream.Url}}", "pathPrefix": "/svc", "credential": { "value": "file:api.credential" } },
                  { "name": "kube", "url": "{{upstream.Url}}", "pathPrefix": "/kube", "kind": "kubernetes", "impersonate": true,
                    "credential": { "value": "Bearer {{KubeSecret}}" } },
                  { "name": "keyed", "url": "{{upstream.Url}}", "pathPrefix": "/keyed", "credential": { "header": "X-Api-Key", "value": "{{KeySecret}}" } },
                  { "name": "echo", "url": "{{upstream.Url}}", "pathPrefix": "/echoing", "credential": { "value": "Bearer {{EchoSecret}}" } },
                  { "name": "gone", "url": "http://127.0.0.1:{{TlsProbe.FreePort()}}", "pathPrefix": "/gone", "credential": { "value": "Bearer {{ApiSecret}}" } }
                ]
              },
              "rules": [
                { "name": "no-kube-deletes", "action": "deny", "targets": ["kube"], "verbs": ["delete"] },
                { "name": "echo-mask", "action": "mask", "targets": ["echo"], "detectors": ["email"] }
              ],
              {{WireRun.Observed(admin)}}
            }
            """, "Listening for http", WireRun.AdminListening);
        await using var tap = TcpTap.Start(port);

        using (var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{tap.Port}"),
            Timeout = Limit,
        })
        {
            async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpMethod method, string path, string? token = Token)
            {
                using var request = new HttpRequestMessage(method, path);
                request.Headers.Authorization = token is null ? null : new AuthenticationHeaderValue("Bearer", token);
                if (method == HttpMethod.Post)
                {
                    request.Content = new StringContent("{\"find\":\"alice\"}", Encoding.UTF8, "application/json");
                }
                using var response = await client.SendAsync(request);
                return (response.StatusCode, (response.Headers.Location is { } location ? "Location: " + location + "\n" : "")
                    + await response.Content.ReadAsStringAsync());
            }

            Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/svc/ok")).Status);
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Post, "/svc/ok")).Status);
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/svc/text")).Status);
            var redirect = await SendAsync(HttpMethod.Get, "/svc/redirect");
            Assert.Equal(HttpStatusCode.Redirect, redirect.Status);
            Assert.Contains("/ok?from=redirect", redirect.Body, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.InternalServerError, (await SendAsync(HttpMethod.Get, "/svc/fail")).Status);
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, "/svc/unauthorized")).Status);
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/kube/api/v1/namespaces/default/pods")).Status);
            var denied = await SendAsync(HttpMethod.Delete, "/kube/api/v1/namespaces/default/pods/web-0");
            Assert.Equal(HttpStatusCode.Forbidden, denied.Status);
            Assert.Contains("\"kind\":\"Status\"", denied.Body, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "/keyed/ok")).Status);
            var echoed = await SendAsync(HttpMethod.Get, "/echoing/echo");
            Assert.Equal(HttpStatusCode.OK, echoed.Status);
            Assert.Contains("\"Authorization\":\"", echoed.Body, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.BadGateway, (await SendAsync(HttpMethod.Get, "/gone/ok")).Status);
            Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Get, "/nowhere")).Status);
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, "/svc/ok", BadToken)).Status);
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, "/svc/ok", token: null)).Status);
        }

        // A malformed request (obs-fold) gets Wire's 400.
        using (var raw = new TcpClient())
        {
            await raw.ConnectAsync(IPAddress.Loopback, tap.Port);
            var stream = raw.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET /svc/ok HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {Token}\r\nX-Folded: a\r\n b\r\n\r\n"));
            using var reader = new StreamReader(stream);
            Assert.StartsWith("HTTP/1.1 400 ", await reader.ReadLineAsync().WaitAsync(Limit), StringComparison.Ordinal);
        }

        using (var http = AdminApi.Client(admin))
        {
            using var refused = await AdminApi.SendAsync(http, HttpMethod.Get, "/api/recordings", AdminBadToken);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        // Each credential got through to the upstream (so each was sent), and nothing came without one.
        Assert.Equal(0, upstream.Refused);
        foreach (string accepted in (string[])["Authorization: Bearer " + ApiSecret, "Authorization: Bearer " + KubeSecret,
            "X-Api-Key: " + KeySecret, "Authorization: Bearer " + EchoSecret])
        {
            Assert.True(upstream.Accepted.ContainsKey(accepted), "the upstream never saw a credential: " + string.Join(", ", upstream.Accepted.Keys.Select(k => k[..k.IndexOf(':', StringComparison.Ordinal)])));
        }

        string recordings = Path.Combine(_directory, "recordings");
        Assert.True(
            await Eventually.WaitAsync(() => SecretScan.CompleteRecordings(recordings) >= 1), "a complete recording\n" + wire.Output);
        var (adminEvidence, listed) = await SecretScan.AdminAsync(admin, AdminToken);
        Assert.True(listed >= 1, $"the admin API lists {listed} recordings");

        Secret[] secrets =
        [
            new("the api target's credential", ApiSecret),
            new("the kube target's credential", KubeSecret),
            new("the keyed target's credential", KeySecret),
            new("the echo target's credential", EchoSecret),
            new("the recording key", RecordingKey),
            new("alice's token", Token),
            new("the admin's token", AdminToken),
            new("the unknown token", BadToken),
            new("the token the admin API refused", AdminBadToken),
        ];
        // The recordings hold the requests (their credential fields as ***), and the capture is real: the scan finds the
        // tokens the client itself sent through the tap.
        string recorded = SecretScan.Recorded(recordings);
        Assert.Contains("\"text\":\"GET /echoing/echo\"", recorded, StringComparison.Ordinal);
        Assert.Contains("\"Authorization: ***\"", recorded, StringComparison.Ordinal);
        Assert.Equal(
            ["alice's token", "the unknown token"],
            SecretScan.Findings(SecretScan.Streams("client to Wire", tap.FromClient), secrets).Select(f => f[..f.IndexOf(" (", StringComparison.Ordinal)]).Distinct().Order());
        Assert.Contains("HTTP/1.1 502 ", Encoding.ASCII.GetString(tap.ToClient.SelectMany(b => b).ToArray()), StringComparison.Ordinal);

        SecretScan.AssertNoneIn(SecretScan.Gateway(wire.Output, recordings, adminEvidence, tap), secrets);
    }
}
