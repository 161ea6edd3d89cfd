using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Wire.Http.Tests.Security;

/// <summary>
/// A real Kestrel upstream (plain HTTP on 127.0.0.1) that serves only requests carrying one of the credentials it is
/// given (a whole field value, such as <c>Bearer ...</c>, in the named field) and answers everything else 401: a
/// request that got through proves Wire sent the credential. It answers JSON, a redirect, an error, its own 401, a
/// Kubernetes-shaped list and, on <c>/echo</c>, every request field it received (credential included) as JSON.
/// </summary>
internal sealed class CredentialCheckingUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;

    private CredentialCheckingUpstream(WebApplication app) => _app = app;

    /// <summary>The upstream's base URL.</summary>
    public Uri Url { get; private set; } = null!;

    /// <summary>How many requests each credential (by field name and value) got through with.</summary>
    public ConcurrentDictionary<string, int> Accepted { get; } = new();

    /// <summary>Requests refused for want of a credential.</summary>
    public int Refused => _refused;

    private int _refused;

    /// <summary>Starts the upstream; <paramref name="credentials"/> are (field name, whole field value) pairs it accepts.</summary>
    public static async Task<CredentialCheckingUpstream> StartAsync(IReadOnlyList<(string Field, string Value)> credentials, string json)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http1));
        var app = builder.Build();
        var upstream = new CredentialCheckingUpstream(app);
        app.Use(async (context, next) =>
        {
            foreach (var (field, value) in credentials)
            {
                if (context.Request.Headers[field].ToString() == value)
                {
                    upstream.Accepted.AddOrUpdate(field + ": " + value, 1, (_, n) => n + 1);
                    await next(context);
                    return;
                }
            }
            Interlocked.Increment(ref upstream._refused);
            context.Response.StatusCode = 401;
            await context.Response.WriteAsync("no credential");
        });
        app.MapMethods("/ok", ["GET", "POST"], async (HttpContext context) =>
        {
            await context.Request.Body.CopyToAsync(Stream.Null);
            return Results.Text(json, "application/json");
        });
        app.MapGet("/text", () => Results.Text(json, "text/plain"));
        app.MapGet("/redirect", () => Results.Redirect("/ok?from=redirect"));
        app.MapGet("/fail", () => Results.Text("upstream failed", "text/plain", statusCode: 500));
        app.MapGet("/unauthorized", (HttpContext context) =>
        {
            context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
            return Results.Text("{\"error\":\"invalid_token\"}", "application/json", statusCode: 401);
        });
        app.MapGet("/api/v1/namespaces/{ns}/pods", (string ns) => Results.Text(
            "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{},\"items\":[{\"metadata\":{\"name\":\"web-0\",\"namespace\":\"" + ns + "\"}}]}",
            "application/json"));
        app.Map("/echo", (HttpContext context) => Results.Text(
            JsonSerializer.Serialize(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString())), "application/json"));
        await app.StartAsync();
        upstream.Url = new Uri(app.Urls.Single());
        return upstream;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
