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
    private long _bigBytesWritten;

    public Uri HttpUrl { get; private set; } = null!;

    /// <summary>Bytes of <c>/big</c> bodies Kestrel has taken so far (all requests).</summary>
    public long BigBytesWritten => Interlocked.Read(ref _bigBytesWritten);

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
        // Bodies for the masking tests: JSON (Content-Length or chunked), text, binary, compressed.
        app.MapGet("/json", async (HttpContext context) =>
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(SampleJson);
            context.Response.ContentType = "application/json; charset=utf-8";
            if (context.Request.Query["chunked"] != "1")
            {
                context.Response.ContentLength = bytes.Length;
                await context.Response.Body.WriteAsync(bytes);
                return;
            }
            // Several small writes: the chunks cut values in the middle.
            for (int i = 0; i < bytes.Length; i += 7)
            {
                await context.Response.Body.WriteAsync(bytes.AsMemory(i, Math.Min(7, bytes.Length - i)));
                await context.Response.Body.FlushAsync();
            }
        });
        app.MapGet("/text", () => Results.Text("contact alice@example.com or 123-45-6789\n", "text/plain"));
        app.MapGet("/binary", () => Results.Bytes([1, 2, 3, 4], "application/octet-stream"));
        app.MapGet("/gzip", (HttpContext context) =>
        {
            context.Response.Headers.ContentEncoding = "gzip";
            return Results.Bytes([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0], "application/json");
        });
        app.MapGet("/api/v1/namespaces/{ns}/secrets/{name}", (string ns, string name) => Results.Text(Secret(ns, name), "application/json"));
        app.MapGet("/api/v1/namespaces/{ns}/secrets", async (HttpContext context, string ns) =>
        {
            context.Response.ContentType = "application/json";
            if (context.Request.Query["watch"] == "true")
            {
                foreach (var name in new[] { "one", "two" })
                {
                    await context.Response.WriteAsync("{\"type\":\"ADDED\",\"object\":" + Secret(ns, name) + "}\n");
                    await context.Response.Body.FlushAsync();
                }
                return;
            }
            await context.Response.WriteAsync("{\"kind\":\"SecretList\",\"apiVersion\":\"v1\",\"metadata\":{},\"items\":["
                + Secret(ns, "one") + "," + Secret(ns, "two") + "]}");
        });
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
                Interlocked.Add(ref _bigBytesWritten, n);
            }
        });
        app.MapGet("/status/{code:int}", (int code) => Results.StatusCode(code));
        // kubectl exec over WebSocket (v4.channel.k8s.io): every stdin message is answered on stdout and stderr.
        app.Map("/api/v1/namespaces/{ns}/pods/{name}/exec", async (HttpContext context) =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                await Echo(context);
                return;
            }
            using var socket = await context.WebSockets.AcceptWebSocketAsync("v4.channel.k8s.io");
            await ServeUntilCloseAsync(socket, async (buffer, received) =>
            {
                string input = System.Text.Encoding.UTF8.GetString(buffer, 1, received.Count - 1);
                byte[] stdout = [1, .. System.Text.Encoding.UTF8.GetBytes($"ran {input.Trim()} for alice@example.com\n")];
                byte[] stderr = [2, .. System.Text.Encoding.UTF8.GetBytes("warning: ssn 123-45-6789 in output\n")];
                await socket.SendAsync(stdout, WebSocketMessageType.Binary, true, CancellationToken.None);
                await socket.SendAsync(stderr, WebSocketMessageType.Binary, true, CancellationToken.None);
            });
        });
        app.Map("/ws", async (HttpContext context) =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = 400;
                return;
            }
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            await ServeUntilCloseAsync(socket, (buffer, received) =>
                socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, CancellationToken.None).AsTask());
        });
        await app.StartAsync();
        var addresses = app.Urls.Select(u => new Uri(u)).ToList();
        HttpUrl = addresses.Single(u => u.Scheme == "http");
        HttpsUrl = new UriBuilder(addresses.Single(u => u.Scheme == "https")) { Host = "localhost" }.Uri;
        _app = app;
    }

    /// <summary>A JSON document with a password, an email in free text, and an escaped email.</summary>
    public const string SampleJson =
        "{\"user\":\"alice\",\"password\":\"hunter2-very-secret\",\"profile\":{\"note\":\"mail alice@example.com\",\"escaped\":\"bob\\u0040example.org\"},"
        + "\"tokens\":[{\"password\":\"p4ss\"}],\"count\":3}";

    /// <summary>The value inside the fixture's Secrets (base64 of it is in data, the text itself in stringData).</summary>
    public const string SecretValue = "s3cr3t-db-password";

    /// <summary>A Secret as the API server writes it, with kubectl's last-applied copy.</summary>
    public static string Secret(string ns, string name)
    {
        string encoded = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(SecretValue));
        return "{\"kind\":\"Secret\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"" + name + "\",\"namespace\":\"" + ns + "\",\"annotations\":{"
            + "\"kubectl.kubernetes.io/last-applied-configuration\":\"{\\\"data\\\":{\\\"password\\\":\\\"" + encoded + "\\\"}}\",\"team\":\"db\"}},"
            + "\"data\":{\"password\":\"" + encoded + "\"},\"stringData\":{\"plain\":\"" + SecretValue + "\"},\"type\":\"Opaque\"}";
    }

    /// <summary>Reports the request as the upstream saw it: method, path, query, every header, and the body.</summary>
    /// <summary>Reads messages until the client closes (answering the close), handing each to <paramref name="onMessage"/>.</summary>
    private static async Task ServeUntilCloseAsync(WebSocket socket, Func<byte[], WebSocketReceiveResult, Task> onMessage)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                return;
            }
            await onMessage(buffer, received);
        }
    }

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
