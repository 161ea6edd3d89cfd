using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Wire.Enforcement.Identity;
using Wire.Http.Proxy;

namespace Wire.Http.Tests.Proxy;

/// <summary>A Wire HTTP listener on 127.0.0.1 in front of the given targets, with one static token for alice.</summary>
internal sealed class HttpProxyHarness : IAsyncDisposable
{
    public const string Token = "alice-token";

    /// <summary>Bob's token (groups: none).</summary>
    public const string OtherToken = "bob-token";

    private HttpProxyHarness(HttpProxyServer server)
    {
        Server = server;
    }

    public HttpProxyServer Server { get; }

    public int Port => Server.LocalEndPoint.Port;

    public static HttpProxyHarness Start(IEnumerable<HttpTargetOptions> targets, X509Certificate2? serverCertificate = null,
        Wire.Http.Protocol.Http1Limits? limits = null, Wire.Enforcement.WireEnforcement? enforcement = null, IIdentityValidator? validator = null,
        Wire.Enforcement.Transport.ConnectionLimits? connections = null, Action<HttpProxyOptions>? configure = null)
    {
        var options = new HttpProxyOptions
        {
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            ServerCertificate = serverCertificate,
            Limits = limits ?? Wire.Http.Protocol.Http1Limits.Default,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            Connections = connections ?? new Wire.Enforcement.Transport.ConnectionLimits(),
        };
        options.Targets.AddRange(targets);
        configure?.Invoke(options);
        validator ??= new StaticTokenValidator([new StaticToken(Token, "alice", ["dev", "ops"]), new StaticToken(OtherToken, "bob", [])]);
        var logs = new LogCollector();
        var server = new HttpProxyServer(options, validator, logs, enforcement);
        server.Start();
        return new HttpProxyHarness(server) { Logs = logs };
    }

    /// <summary>What the server logged, for assertion messages.</summary>
    public LogCollector Logs { get; private init; } = new();

    public HttpClient Client(string? token = Token, bool tls = false, HttpMessageHandler? handler = null)
    {
        var client = new HttpClient(handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(1) })
        {
            BaseAddress = new Uri($"{(tls ? "https" : "http")}://{(tls ? "localhost" : "127.0.0.1")}:{Port}"),
            Timeout = TimeSpan.FromSeconds(30),
        };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return client;
    }

    /// <summary>Sends raw bytes on a new connection and reads until the server closes it or <paramref name="until"/> says enough.</summary>
    public async Task<string> RawAsync(string request, Func<string, bool>? until = null)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, Port);
        await socket.SendAsync(Encoding.Latin1.GetBytes(request));
        return await ReadAsync(socket, until);
    }

    public static async Task<string> ReadAsync(Socket socket, Func<string, bool>? until = null)
    {
        var received = new StringBuilder();
        var buffer = new byte[64 * 1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (true)
        {
            int n;
            try
            {
                n = await socket.ReceiveAsync(buffer, timeout.Token);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                // Reset, or silence for 20 s: the caller's assertions show what did arrive.
                break;
            }
            if (n == 0)
            {
                break;
            }
            received.Append(Encoding.Latin1.GetString(buffer, 0, n));
            if (until is not null && until(received.ToString()))
            {
                break;
            }
        }
        return received.ToString();
    }

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}

/// <summary>Collects log lines (with exceptions) so a failing test can show what the server said.</summary>
internal sealed class LogCollector : Microsoft.Extensions.Logging.ILoggerFactory, Microsoft.Extensions.Logging.ILogger
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public override string ToString() => string.Join(Environment.NewLine, _lines);

    public void AddProvider(Microsoft.Extensions.Logging.ILoggerProvider provider)
    {
    }

    public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => this;

    public void Dispose()
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception,
        Func<TState, Exception?, string> formatter) => _lines.Enqueue($"{logLevel} {eventId.Id}: {formatter(state, exception)} {exception}");
}
