using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace Wire.Http.Tests.Proxy;

/// <summary>
/// A real Kestrel upstream on 127.0.0.1 (plain HTTP, and HTTPS with a certificate from the test CA) that reports what
/// it received, echoes bodies, streams large and chunked responses, answers bodiless statuses and echoes WebSocket
/// messages.
/// </summary>
public sealed class UpstreamApp : IAsyncLifetime
{
    private WebApplication? _app;

    public Uri HttpUrl { get; private set; } = null!;

    public Uri HttpsUrl { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var certificate = Wire.Testing.TestCertificates.Shared.IssueServerCertificate().Certificate;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http1);
            kestrel.Listen(IPAddress.Loopback, 0, o =>
            {
                o.Protocols = HttpProtocols.Http1;
                o.UseHttps(certificate);
            });
            kestrel.Limits.MaxRequestBodySize = null;
        });
        var app = builder.Build();
        app.UseWebSockets();
        app.Map("/echo/{**rest}", Echo);
        // Kubernetes-shaped paths, answered with the same report (the fixture stands in for an API server).
        app.Map("/api/{**rest}", Echo);
        app.Map("/apis/{**rest}", Echo);
        app.MapMethods("/big", ["GET", "HEAD"], async (HttpContext context) =>
        {
            long size = long.Parse(context.Request.Query["size"]!, System.Globalization.CultureInfo.InvariantCulture);
            bool chunked = context.Request.Query["chunked"] == "1";
            if (!chunked)
            {
                context.Response.ContentLength = size;
            }
            var block = new byte[64 * 1024];
            for (int i = 0; i < block.Length; i++)
            {
                block[i] = (byte)(i * 31);
            }
            for (long sent = 0; sent < size;)
            {
                int n = (int)Math.Min(block.Length, size - sent);
                await context.Response.Body.WriteAsync(block.AsMemory(0, n));
                sent += n;
            }
        });
        app.MapGet("/status/{code:int}", (int code) => Results.StatusCode(code));
        app.Map("/ws", async (HttpContext context) =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = 400;
                return;
            }
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var buffer = new byte[64 * 1024];
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                    return;
                }
                await socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, CancellationToken.None);
            }
        });
        await app.StartAsync();
        var addresses = app.Urls.Select(u => new Uri(u)).ToList();
        HttpUrl = addresses.Single(u => u.Scheme == "http");
        HttpsUrl = new UriBuilder(addresses.Single(u => u.Scheme == "https")) { Host = "localhost" }.Uri;
        _app = app;
    }

    /// <summary>Reports the request as the upstream saw it: method, path, query, every header, and the body.</summary>
    private static async Task Echo(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        var report = new
        {
            method = context.Request.Method,
            path = context.Request.Path.Value,
            query = context.Request.QueryString.Value,
            protocol = context.Request.Protocol,
            headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()),
            body = Convert.ToBase64String(body.ToArray()),
        };
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(report));
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}

/// <summary>What <see cref="UpstreamApp"/>'s /echo reports.</summary>
public sealed record EchoReport(string Method, string Path, string Query, string Protocol, Dictionary<string, string> Headers, string Body)
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static EchoReport Parse(string json) => JsonSerializer.Deserialize<EchoReport>(json, Options)!;

    public byte[] BodyBytes => Convert.FromBase64String(Body);

    public string? Header(string name) => Headers.GetValueOrDefault(name.ToLowerInvariant());
}
