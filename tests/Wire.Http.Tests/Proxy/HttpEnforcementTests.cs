using System.Net;
using System.Text;
using Wire.Enforcement;
using Wire.Enforcement.Approvals;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;
using Wire.Http.Proxy;

namespace Wire.Http.Tests.Proxy;

/// <summary>Rules and reviews on HTTP requests (DESIGN.md §4: one verdict per request; 403 + JSON problem; 503 when approvals fail).</summary>
public sealed class HttpEnforcementTests(UpstreamApp upstream) : IClassFixture<UpstreamApp>
{
    private static readonly WireIdentity Approver = new("sam", ["sre"], "test");

    private HttpTargetOptions Generic() => new()
    {
        Name = "app",
        Url = upstream.HttpUrl,
        Hosts = ["app.test"],
        CredentialHeader = "Authorization",
        CredentialValue = "Bearer upstream-secret",
    };

    private HttpTargetOptions Kube() => new()
    {
        Name = "kube",
        Url = upstream.HttpUrl,
        Kind = HttpTargetKind.Kubernetes,
        Hosts = ["kube.test"],
        CredentialHeader = "Authorization",
        CredentialValue = "Bearer cluster-admin-token",
        Impersonate = true,
    };

    private static readonly RuleDefinition[] Rules =
    [
        new() { Name = "no-admin-writes", Action = PolicyAction.Deny, Methods = ["DELETE", "PUT"], Paths = ["/echo/admin/*"], Message = "ask the platform team" },
        new() { Name = "slow-path", Action = PolicyAction.Review, Paths = ["/echo/reviewed*"], Approvers = ["sre"], Timeout = TimeSpan.FromSeconds(2) },
        new() { Name = "no-secrets", Action = PolicyAction.Deny, Verbs = ["get", "list", "watch"], ApiGroups = ["core"], Resources = ["secrets"] },
        new() { Name = "no-prod-deletes", Action = PolicyAction.Deny, Verbs = ["delete", "deletecollection"], Namespaces = ["prod*"] },
        new() { Name = "exec-review", Action = PolicyAction.Review, Subresources = ["exec"], Approvers = ["sre"], Timeout = TimeSpan.FromSeconds(5) },
        new() { Name = "no-rm", Action = PolicyAction.Deny, Subresources = ["exec"], Pattern = "command: rm " },
        new() { Name = "pg-only", Action = PolicyAction.Deny, Statements = [StatementKind.Drop] },
    ];

    private static (HttpProxyHarness Wire, InMemoryApprovalBroker Broker) Start(IEnumerable<HttpTargetOptions> targets, IApprovalBroker? broker = null,
        System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null)
    {
        var inMemory = new InMemoryApprovalBroker();
        var enforcement = new WireEnforcement { Rules = new RuleSetProvider(RuleSet.Create(Rules)), Approvals = broker ?? inMemory };
        return (HttpProxyHarness.Start(targets, certificate, enforcement: enforcement), inMemory);
    }

    private static async Task<(HttpStatusCode Status, string Body)> Send(HttpClient client, HttpMethod method, string host, string path, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Host = host;
        using var response = await client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Denied_requests_get_403_naming_the_rule_and_the_rest_pass()
    {
        var (wire, _) = Start([Generic()]);
        await using var _ = wire;
        using var client = wire.Client();

        var denied = await Send(client, HttpMethod.Delete, "app.test", "/echo/admin/users/7");
        Assert.Equal(HttpStatusCode.Forbidden, denied.Status);
        using var problem = System.Text.Json.JsonDocument.Parse(denied.Body);
        Assert.Equal(403, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal("denied by rule no-admin-writes: ask the platform team", problem.RootElement.GetProperty("detail").GetString());

        Assert.Equal(HttpStatusCode.OK, (await Send(client, HttpMethod.Get, "app.test", "/echo/admin/users/7")).Status);
        Assert.Equal(HttpStatusCode.OK, (await Send(client, HttpMethod.Delete, "app.test", "/echo/other")).Status);
        // A PostgreSQL-only rule (statements) never matches an HTTP request.
        Assert.Equal(HttpStatusCode.OK, (await Send(client, HttpMethod.Post, "app.test", "/echo/drop", new StringContent("DROP TABLE x"))).Status);
    }

    [Fact]
    public async Task A_denied_body_is_drained_when_small_and_the_connection_closed_when_not()
    {
        var (wire, _) = Start([Generic()]);
        await using var _ = wire;
        string auth = $"Authorization: Bearer {HttpProxyHarness.Token}\r\n";
        string small = await wire.RawAsync(
            $"PUT /echo/admin/x HTTP/1.1\r\nHost: app.test\r\n{auth}Content-Length: 5\r\n\r\nhello"
            + $"GET /echo/after HTTP/1.1\r\nHost: app.test\r\n{auth}Connection: close\r\n\r\n");
        Assert.Contains("HTTP/1.1 403 Forbidden", small, StringComparison.Ordinal);
        Assert.Contains("\"path\":\"/echo/after\"", small, StringComparison.Ordinal);

        string big = await wire.RawAsync(
            $"PUT /echo/admin/x HTTP/1.1\r\nHost: app.test\r\n{auth}Content-Length: 100000\r\n\r\n" + new string('x', 1000));
        Assert.StartsWith("HTTP/1.1 403 Forbidden", big, StringComparison.Ordinal);
        Assert.Contains("Connection: close", big, StringComparison.Ordinal);

        // Expect: 100-continue: the body never comes, so the refusal closes the connection rather than wait for it.
        string expect = await wire.RawAsync(
            $"PUT /echo/admin/x HTTP/1.1\r\nHost: app.test\r\n{auth}Content-Length: 5\r\nExpect: 100-continue\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 403 Forbidden", expect, StringComparison.Ordinal);
        Assert.DoesNotContain("100 Continue", expect, StringComparison.Ordinal);
        Assert.Contains("Connection: close", expect, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reviewed_request_waits_for_the_approver_and_a_timeout_refuses_it()
    {
        var (wire, broker) = Start([Generic()]);
        await using var _ = wire;
        using var client = wire.Client();
        broker.Requested += request =>
        {
            if (request.Text.Contains("approve-me", StringComparison.Ordinal))
            {
                Task.Run(async () =>
                {
                    await Task.Delay(200);
                    broker.Approve(request.Id, Approver);
                });
            }
            else if (request.Text.Contains("deny-me", StringComparison.Ordinal))
            {
                Task.Run(() => broker.Deny(request.Id, Approver));
            }
        };

        var approved = await Send(client, HttpMethod.Post, "app.test", "/echo/reviewed/approve-me", new StringContent("payload"));
        Assert.Equal(HttpStatusCode.OK, approved.Status);
        Assert.Equal("payload", Encoding.UTF8.GetString(EchoReport.Parse(approved.Body).BodyBytes));

        var denied = await Send(client, HttpMethod.Get, "app.test", "/echo/reviewed/deny-me");
        Assert.Equal(HttpStatusCode.Forbidden, denied.Status);
        Assert.Contains("review by rule slow-path denied by sam", denied.Body, StringComparison.Ordinal);

        var timedOut = await Send(client, HttpMethod.Get, "app.test", "/echo/reviewed/nobody-answers");
        Assert.Equal(HttpStatusCode.Forbidden, timedOut.Status);
        Assert.Contains("timed out", timedOut.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failing_approval_service_is_503_and_nothing_is_forwarded()
    {
        var (wire, _) = Start([Generic()], new ThrowingBroker());
        await using var _ = wire;
        using var client = wire.Client();
        var failed = await Send(client, HttpMethod.Get, "app.test", "/echo/reviewed/x");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.Status);
        Assert.Contains("approval service failed", failed.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kubernetes_rules_see_verbs_resources_namespaces_and_exec_commands()
    {
        var (wire, broker) = Start([Kube()]);
        await using var _ = wire;
        using var client = wire.Client();
        int approvals = 0;
        broker.Requested += request =>
        {
            // Only the exec that no deny rule stops reaches review: the exec with rm is denied before anyone is asked.
            Interlocked.Increment(ref approvals);
            Assert.Equal("POST /api/v1/namespaces/dev/pods/web-0/exec?command=ls command: ls", request.Text);
            Task.Run(() => broker.Approve(request.Id, Approver));
        };

        Assert.Equal(HttpStatusCode.Forbidden, (await Send(client, HttpMethod.Get, "kube.test", "/api/v1/namespaces/default/secrets")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await Send(client, HttpMethod.Get, "kube.test", "/api/v1/namespaces/default/secrets/db?watch=true")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await Send(client, HttpMethod.Get, "kube.test", "/api/v1/watch/namespaces/default/secrets")).Status);
        // secrets in another API group are not core secrets
        Assert.Equal(HttpStatusCode.OK, (await Send(client, HttpMethod.Get, "kube.test", "/apis/example.com/v1/namespaces/default/secrets")).Status);

        Assert.Equal(HttpStatusCode.Forbidden, (await Send(client, HttpMethod.Delete, "kube.test", "/apis/apps/v1/namespaces/prod-eu/deployments/api")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await Send(client, HttpMethod.Delete, "kube.test", "/api/v1/namespaces/prod/pods")).Status);
        Assert.Equal(HttpStatusCode.OK, (await Send(client, HttpMethod.Delete, "kube.test", "/apis/apps/v1/namespaces/dev/deployments/api")).Status);

        var rm = await Send(client, HttpMethod.Post, "kube.test", "/api/v1/namespaces/dev/pods/web-0/exec?command=rm&command=-rf&command=%2F");
        Assert.Equal(HttpStatusCode.Forbidden, rm.Status);
        Assert.Contains("denied by rule no-rm", rm.Body, StringComparison.Ordinal);
        var ls = await Send(client, HttpMethod.Post, "kube.test", "/api/v1/namespaces/dev/pods/web-0/exec?command=ls");
        Assert.Equal(HttpStatusCode.OK, ls.Status);
        Assert.Equal("alice", EchoReport.Parse(ls.Body).Header("Impersonate-User"));
        Assert.Equal(1, approvals);
    }

    [Fact]
    public async Task Kubectl_reaches_the_api_through_wire_and_sees_wires_denials()
    {
        // kubectl sends a bearer token only over TLS: Wire serves HTTPS here with a certificate from the test CA.
        using var certificate = Wire.Testing.TestCertificates.Shared.IssueServerCertificate();
        string ca = Path.Combine(Path.GetTempPath(), $"wire-kubectl-ca-{Guid.NewGuid():n}.pem");
        Wire.Testing.TestCertificates.Shared.WritePem(ca);
        var (wire, _) = Start([Kube()], certificate: certificate.Certificate);
        await using var _ = wire;
        string[] common = ["--server", $"https://localhost:{wire.Port}", "--certificate-authority", ca, "--token", HttpProxyHarness.Token,
            "--kubeconfig", "/dev/null"];

        var get = await Kubectl([.. common, "get", "--raw", "/api/v1/namespaces/default/pods?limit=5"]);
        Assert.True(get.ExitCode == 0, get.Error);
        var seen = EchoReport.Parse(get.Output);
        Assert.Equal("/api/v1/namespaces/default/pods", seen.Path);
        Assert.Equal("Bearer cluster-admin-token", seen.Header("Authorization"));
        Assert.Equal("alice", seen.Header("Impersonate-User"));

        var delete = await Kubectl([.. common, "delete", "--raw", "/api/v1/namespaces/prod/pods/web-0"]);
        Assert.NotEqual(0, delete.ExitCode);
        Assert.Contains("denied by rule no-prod-deletes", delete.Output + delete.Error, StringComparison.Ordinal);

        var secrets = await Kubectl([.. common, "get", "--raw", "/api/v1/namespaces/default/secrets/db"]);
        Assert.NotEqual(0, secrets.ExitCode);
        Assert.Contains("denied by rule no-secrets", secrets.Output + secrets.Error, StringComparison.Ordinal);
        File.Delete(ca);
    }

    [Fact]
    public async Task Spdy_upgrades_are_refused_naming_the_kubectl_that_speaks_websocket()
    {
        var (wire, _) = Start([Kube()]);
        await using var _ = wire;
        string answer = await wire.RawAsync(
            $"POST /api/v1/namespaces/dev/pods/web-0/exec?command=ls HTTP/1.1\r\nHost: kube.test\r\nAuthorization: Bearer {HttpProxyHarness.Token}\r\n"
            + "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n",
            until: a => a.EndsWith("\"code\":403}", StringComparison.Ordinal));
        Assert.StartsWith("HTTP/1.1 403 Forbidden", answer, StringComparison.Ordinal);
        Assert.Contains("kubectl 1.30 or later", answer, StringComparison.Ordinal);
        Assert.Contains("\"kind\":\"Status\"", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WebSocket_extensions_are_never_offered_upstream()
    {
        var (wire, _) = Start([Generic()]);
        await using var _ = wire;
        using var client = wire.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/echo/ws-offer");
        request.Headers.Host = "app.test";
        request.Headers.Add("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits");
        using var response = await client.SendAsync(request);
        var seen = EchoReport.Parse(await response.Content.ReadAsStringAsync());
        Assert.Null(seen.Header("Sec-WebSocket-Extensions"));
    }

    private static async Task<(int ExitCode, string Output, string Error)> Kubectl(string[] arguments)
    {
        var info = new System.Diagnostics.ProcessStartInfo(KubectlBinary()) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using var process = System.Diagnostics.Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, await output, await error);
    }

    /// <summary>
    /// kubectl itself. The Google Cloud SDK's <c>kubectl</c> is a dispatcher that first asks the server's /version
    /// without credentials (Wire answers 401) to pick a versioned binary; the versioned binaries beside it are plain kubectl.
    /// </summary>
    private static string KubectlBinary()
    {
        const string Sdk = "/usr/lib/google-cloud-sdk/bin";
        var versioned = Directory.Exists(Sdk)
            ? Directory.GetFiles(Sdk, "kubectl.1.*").OrderBy(f => Version.TryParse(Path.GetFileName(f)["kubectl.".Length..], out var v) ? v : new Version())
                .LastOrDefault()
            : null;
        return versioned ?? "kubectl";
    }

    private sealed class ThrowingBroker : IApprovalBroker
    {
        public ValueTask<ApprovalDecision> RequestAsync(ApprovalRequest request, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("the approval store is down");
    }
}
