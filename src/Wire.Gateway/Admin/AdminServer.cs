using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using Wire.Enforcement.Approvals;
using Wire.Enforcement.Diagnostics;
using Wire.Enforcement.Grants;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Policy;
using Wire.Enforcement.Recording;
using Wire.Gateway.Hosting;
using Wire.Hosting;
using Wire.Hosting.State;

namespace Wire.Gateway.Admin;

/// <summary>
/// The admin API and approval page (docs/admin-api.md) on <c>admin.listen</c>: Kestrel, JSON, every <c>/api</c> route
/// authenticated with the same identity tokens as the proxies. The only part of Wire that uses ASP.NET Core.
/// </summary>
internal sealed partial class AdminServer : IHostedService, IAsyncDisposable
{
    private const int RememberedRequests = 10_000;
    private readonly GatewaySettings _settings;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly IPEndPoint _listen;
    private readonly ConcurrentDictionary<string, byte> _requested = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _requestedOrder = new();
    private WebApplication? _app;

    private readonly GrantRegistry _grants;

    public AdminServer(GatewaySettings settings, GatewayService gateway, ILoggerFactory loggerFactory)
    {
        _settings = settings;
        _grants = gateway.Grants ?? throw new InvalidOperationException("grants exist with the admin API");
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Wire.Admin");
        _listen = settings.AdminListen ?? throw new InvalidOperationException("no admin.listen");
        if (settings.Approvals is InMemoryApprovalBroker local)
        {
            local.Requested += Remember;
        }
    }

    /// <summary>The bound address (port 0 in the config picks a free one).</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "wire-admin" });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(_loggerFactory);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(_listen, listen => listen.Protocols = HttpProtocols.Http1);
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 64 * 1024;
        });
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter(WireDiagnostics.Name).AddPrometheusExporter());
        var app = builder.Build();
        app.Use(RequireIdentityAsync);
        MapRoutes(app);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _app = app;
        LocalEndPoint = app.Urls.Select(u => new Uri(u)).Select(u => new IPEndPoint(IPAddress.Parse(u.Host), u.Port)).FirstOrDefault();
        Log.Listening(_logger, LocalEndPoint?.ToString() ?? _listen.ToString());
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_settings.Approvals is InMemoryApprovalBroker local)
        {
            local.Requested -= Remember;
        }
        if (_app is not null)
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void MapRoutes(WebApplication app)
    {
        app.MapGet("/healthz", () => Results.Json(new { status = "ok" }));
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapGet("/", () => Results.Redirect("/approvals"));
        app.MapGet("/approvals", (HttpContext context) =>
        {
            // The page runs only its own inline script and style, talks only to this origin, and may not be framed (so its
            // buttons cannot be clicked through another site).
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; "
                + "form-action 'none'; frame-ancestors 'none'; base-uri 'none'";
            headers.XFrameOptions = "DENY";
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            return Results.Content(ApprovalPage.Html, "text/html; charset=utf-8");
        });

        // A reviewer sees what they may decide, and everyone their own requests.
        // (Two parameters: a lambda of HttpContext alone would bind as a RequestDelegate and its result be dropped.)
        app.MapGet("/api/approvals", async (HttpContext context, CancellationToken ct) => Results.Json(
            (await _settings.Approvals.ListPendingAsync(ct).ConfigureAwait(false))
            .Where(r => r.Identity.Subject == Caller(context).Subject || r.Approvers.Any(Caller(context).IsInGroup))
            .Select(r => Describe(r, Caller(context))), Json));
        app.MapPost("/api/approvals/{id}/approve", (HttpContext context, string id) => DecideAsync(context, id, approve: true));
        app.MapPost("/api/approvals/{id}/deny", (HttpContext context, string id) => DecideAsync(context, id, approve: false));

        // With shared state every live instance's sessions, each with its instance; else this process's.
        app.MapGet("/api/sessions", async (HttpContext context, CancellationToken ct) => !IsAdmin(context) ? NotAdmin()
            : Results.Json((_settings.SharedSessions is { } shared
                    ? await shared.ListAsync(ct).ConfigureAwait(false)
                    : [.. _settings.Sessions.Active.Select(s => SharedSession.Of(s, instance: null))])
                .Select(s => new SessionView(s.Id, s.Subject, s.Groups, s.Protocol, s.Target, s.Client, s.Started, s.Instance,
                    s.BytesFromClient, s.BytesToClient, s.Commands)), Json));
        app.MapDelete("/api/sessions/{id}", async (HttpContext context, string id, CancellationToken ct) =>
        {
            if (!IsAdmin(context))
            {
                return NotAdmin();
            }
            string reason = Caller(context).Subject;
            bool ended = _settings.SharedSessions is { } shared
                ? await shared.TerminateAsync(id, reason, ct).ConfigureAwait(false)
                : _settings.Sessions.TryTerminate(id, reason);
            Log.Terminated(_logger, Caller(context).Subject, id, ended);
            return ended ? Results.Json(new { id, outcome = "terminated" }, Json) : Problem(404, "no such live session");
        });
        MapGrantRoutes(app);
        app.MapGet("/api/recordings", (HttpContext context) => IsAdmin(context) ? ListRecordings() : NotAdmin());
        app.MapGet("/api/recordings/{id}", (HttpContext context, string id) => IsAdmin(context) ? GetRecording(id) : NotAdmin());
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>One entry of <c>/api/sessions</c> (docs/admin-api.md); <c>instance</c> only with shared state, the counts null for another instance's.</summary>
    private sealed record SessionView(string Id, string Subject, IReadOnlyList<string> Groups, string Protocol, string Target, string Client,
        DateTimeOffset Started,
        [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Instance,
        long BytesFromClient, long BytesToClient, long Commands);

    private bool IsAdmin(HttpContext context) => _settings.AdminGroups.Any(Caller(context).IsInGroup);

    private IResult NotAdmin() => Problem(403, $"only members of {string.Join(", ", _settings.AdminGroups)} (admin.groups) may do this");

    private static WireIdentity Caller(HttpContext context) => (WireIdentity)context.Items[typeof(WireIdentity)]!;

    /// <summary>Every <c>/api</c> route needs a valid token (Authorization: Bearer); 401 otherwise, never a hint why.</summary>
    private async Task RequireIdentityAsync(HttpContext context, RequestDelegate next)
    {
        if (!context.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal))
        {
            await next(context).ConfigureAwait(false);
            return;
        }
        string header = context.Request.Headers.Authorization.ToString();
        const string Scheme = "Bearer ";
        if (header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)
            && await _settings.IdentityValidator.ValidateAsync(header[Scheme.Length..].Trim(), context.RequestAborted).ConfigureAwait(false) is { Identity: { } identity })
        {
            context.Items[typeof(WireIdentity)] = identity;
            await next(context).ConfigureAwait(false);
            return;
        }
        Log.Unauthorized(_logger, context.Connection.RemoteIpAddress?.ToString() ?? "", context.Request.Path);
        context.Response.Headers.WWWAuthenticate = "Bearer";
        await Problem(401, "a valid token is required (Authorization: Bearer TOKEN)").ExecuteAsync(context).ConfigureAwait(false);
    }

    private static IResult Problem(int status, string detail) =>
        Results.Json(new { type = "about:blank", title = ReasonPhrases.GetReasonPhrase(status), status, detail }, Json, "application/problem+json", status);

    private static object Describe(ApprovalRequest request, WireIdentity caller) => new
    {
        id = request.Id,
        subject = request.Identity.Subject,
        protocol = WireProtocolNames.Name(request.Protocol),
        target = request.Target,
        session = request.SessionId,
        text = request.Text,
        rule = request.Rule,
        approvers = request.Approvers,
        requestedAt = request.RequestedAt,
        expiresAt = request.RequestedAt + request.Timeout,
        mayDecide = request.Identity.Subject != caller.Subject && request.Approvers.Any(caller.IsInGroup),
    };

    private async Task<IResult> DecideAsync(HttpContext context, string id, bool approve)
    {
        var caller = Caller(context);
        var result = await _settings.Approvals.DecideAsync(id, caller, approve, reason: null, context.RequestAborted).ConfigureAwait(false);
        Log.Decided(_logger, caller.Subject, approve ? "approve" : "deny", id, result.ToString());
        return result switch
        {
            ApprovalResult.Decided => Results.Json(new { id, outcome = approve ? "approved" : "denied", approver = caller.Subject }, Json),
            ApprovalResult.NotAnApprover => Problem(403, "you are not in an approver group of this request"),
            ApprovalResult.OwnRequest => Problem(403, "nobody approves their own request"),
            ApprovalResult.NoLongerPending => Problem(409, "the request is no longer pending (decided, timed out or cancelled)"),
            _ when _requested.ContainsKey(id) => Problem(409, "the request is no longer pending (decided, timed out or cancelled)"),
            _ => Problem(404, "no such request"),
        };
    }

    /// <summary>Ids of requests seen (bounded): an id that is no longer pending then gets 409, an unknown one 404.</summary>
    private void Remember(ApprovalRequest request)
    {
        if (_requested.TryAdd(request.Id, 0))
        {
            _requestedOrder.Enqueue(request.Id);
            while (_requestedOrder.Count > RememberedRequests && _requestedOrder.TryDequeue(out var old))
            {
                _requested.TryRemove(old, out _);
            }
        }
    }

    private IResult ListRecordings()
    {
        if (_settings.Recording is not { } recording || _settings.RecordingStore is not { } store)
        {
            return Results.Json(Array.Empty<object>(), Json);
        }
        IReadOnlyList<StoredRecording> stored;
        try
        {
            stored = store.List();
        }
        catch (IOException e)
        {
            return Problem(503, $"the recordings cannot be listed: {e.Message}");
        }
        return Results.Json(stored.Select(r =>
        {
            var verification = VerifyStored(store, r.Id, recording);
            return new
            {
                id = r.Id,
                bytes = r.Bytes,
                modified = r.Modified,
                records = verification.Records,
                status = verification.IsValid ? "ok" : verification.DefectName,
            };
        }), Json);
    }

    /// <summary>One recording as JSON: its verification and its records (stored masked, so returned as stored).</summary>
    private IResult GetRecording(string id)
    {
        if (_settings.Recording is not { } recording || _settings.RecordingStore is not { } store || !RecordingFormat.IsValidSessionId(id))
        {
            return Problem(404, "no such recording");
        }
        RecordingVerification verification;
        var records = new List<JsonElement>();
        try
        {
            verification = RecordingVerifier.Verify(store, id, recording.Key.Span);
            using var reader = new StreamReader(store.OpenRead(id + RecordingFormat.Extension));
            while (reader.ReadLine() is { } line)
            {
                try
                {
                    records.Add(JsonDocument.Parse(line).RootElement.Clone());
                }
                catch (JsonException)
                {
                    break;
                }
            }
        }
        catch (FileNotFoundException)
        {
            return Problem(404, "no such recording");
        }
        catch (IOException e)
        {
            return Problem(503, $"the recording cannot be read: {e.Message}");
        }
        return Results.Json(new
        {
            id,
            status = verification.IsValid ? "ok" : verification.DefectName,
            detail = verification.Detail,
            records,
        }, Json);
    }

    /// <summary>A listed recording's verification; one that went away or cannot be read since it was listed says so.</summary>
    private static RecordingVerification VerifyStored(RecordingStore store, string id, RecordingOptions recording)
    {
        try
        {
            return RecordingVerifier.Verify(store, id, recording.Key.Span);
        }
        catch (IOException e)
        {
            return new RecordingVerification(store.Locate(id + RecordingFormat.Extension), 0, 0, 1, RecordingDefect.Truncated, e.Message);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Admin API and approval page listening on http://{Address}")]
        public static partial void Listening(ILogger logger, string address);

        [LoggerMessage(Level = LogLevel.Warning, Message = "admin API: refused a request from {Client} to {Path} without a valid token")]
        public static partial void Unauthorized(ILogger logger, string client, string path);

        [LoggerMessage(Level = LogLevel.Warning, Message = "admin API: {Subject} ended session {Id}: {Ended}")]
        public static partial void Terminated(ILogger logger, string subject, string id, bool ended);

        [LoggerMessage(Level = LogLevel.Information, Message = "admin API: {Subject} asked to {Action} request {Id}: {Result}")]
        public static partial void Decided(ILogger logger, string subject, string action, string id, string result);
    }
}
