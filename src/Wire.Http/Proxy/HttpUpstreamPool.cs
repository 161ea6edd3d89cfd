using System.Collections.Concurrent;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Wire.Enforcement.Transport;

namespace Wire.Http.Proxy;

/// <summary>
/// Connections to one target, reused across requests and clients (every request is still routed and authorized on
/// its own). TLS to the upstream verifies its certificate against the system's roots or the target's trusted
/// certificates, with the URL's host as the expected name; ALPN offers only <c>http/1.1</c>.
/// </summary>
internal sealed class HttpUpstreamPool : IDisposable
{
    private static readonly List<SslApplicationProtocol> Http11 = [SslApplicationProtocol.Http11];

    private readonly HttpTargetOptions _target;
    private readonly TimeSpan _connectTimeout;
    private readonly int _maxIdle;
    private readonly long _bufferBytes;
    // Idle connections by the epoll loop that serves them (the last list: connections no loop serves, such as TLS). A
    // request takes one of its own loop's first, so its response is read on the thread that reads its client.
    private readonly ConcurrentStack<WirePipe>[] _idle;
    private int _idleCount;
    private volatile bool _disposed;

    public HttpUpstreamPool(HttpTargetOptions target, TimeSpan connectTimeout, int maxIdle, long bufferBytes = WirePipes.DefaultBufferBytes)
    {
        _bufferBytes = bufferBytes;
        _target = target;
        _connectTimeout = connectTimeout;
        _maxIdle = maxIdle;
        _idle = new ConcurrentStack<WirePipe>[EpollLoop.Count + 1];
        for (int i = 0; i < _idle.Length; i++)
        {
            _idle[i] = new ConcurrentStack<WirePipe>();
        }
        Authority = target.Url.IsDefaultPort ? target.Url.IdnHost : $"{target.Url.IdnHost}:{target.Url.Port}";
        BasePath = target.Url.AbsolutePath.TrimEnd('/');
    }

    /// <summary>The target's <c>host[:port]</c>, for the forwarded Host field.</summary>
    public string Authority { get; }

    /// <summary>The URL's path without its trailing slash ("" for none), put before every forwarded path.</summary>
    public string BasePath { get; }

    /// <summary>An idle connection that is still open, or a new one.</summary>
    /// <exception cref="HttpUpstreamException">The upstream cannot be reached or its TLS fails.</exception>
    public async ValueTask<WirePipe> RentAsync(CancellationToken cancellationToken)
    {
        int own = EpollLoop.Current?.Index ?? _idle.Length - 1;
        for (int i = 0; i < _idle.Length; i++)
        {
            var idle = _idle[(own + i) % _idle.Length];
            while (idle.TryPop(out var pipe))
            {
                Interlocked.Decrement(ref _idleCount);
                if (IsReusable(pipe))
                {
                    return pipe;
                }
                pipe.Dispose();
            }
        }
        return await ConnectAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Keeps <paramref name="pipe"/> for the next request, or closes it when the pool is full.</summary>
    public void Return(WirePipe pipe)
    {
        if (_disposed || Interlocked.Increment(ref _idleCount) > _maxIdle)
        {
            Interlocked.Decrement(ref _idleCount);
            pipe.Dispose();
            return;
        }
        _idle[pipe.Pipe is EpollSocketPipe socketPipe ? socketPipe.Loop.Index : _idle.Length - 1].Push(pipe);
    }

    // An idle connection must have nothing to read: bytes or an end of stream mean the server closed it or misbehaved.
    private static bool IsReusable(WirePipe pipe)
    {
        if (!pipe.Pipe.Input.TryRead(out var result))
        {
            return true;
        }
        bool clean = result.Buffer.IsEmpty && !result.IsCompleted && !result.IsCanceled;
        pipe.Pipe.Input.AdvanceTo(result.Buffer.Start);
        return clean;
    }

    private async ValueTask<WirePipe> ConnectAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_connectTimeout);
        var url = _target.Url;
        Socket? socket = null;
        try
        {
            (socket, _) = await WireConnector.ConnectAsync(url.DnsSafeHost, url.Port, _connectTimeout, cancellationToken).ConfigureAwait(false);
            if (!string.Equals(url.Scheme, Uri.UriSchemeHttps, StringComparison.OrdinalIgnoreCase))
            {
                // Responses can be large: ask for 64 KiB per receive (the client leg keeps the default; requests are small).
                var plain = WirePipes.FromSocket(socket, _target.Name, receiveBytes: 64 * 1024, bufferBytes: _bufferBytes);
                plain.RunReaderInline();
                return plain;
            }

            var stream = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
            try
            {
                await stream.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = url.IdnHost,
                    ApplicationProtocols = Http11,
                    EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    ClientCertificates = _target.ClientCertificate is { } certificate ? [certificate] : null,
                    CertificateChainPolicy = TrustPolicy(),
                }, timeout.Token).ConfigureAwait(false);
            }
            catch
            {
                await stream.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            return WirePipes.FromStream(stream, _target.Name, _bufferBytes);
        }
        catch (Exception e) when (e is SocketException or AuthenticationException or IOException or OperationCanceledException
            && !cancellationToken.IsCancellationRequested)
        {
            socket?.Dispose();
            throw new HttpUpstreamException(e switch
            {
                AuthenticationException => $"TLS to target {_target.Name} failed: {e.Message}",
                OperationCanceledException => $"connecting to target {_target.Name} timed out",
                _ => $"target {_target.Name} is unreachable: {e.Message}",
            }, e);
        }
    }

    private X509ChainPolicy? TrustPolicy()
    {
        if (_target.TrustedCertificates is not { Count: > 0 } trusted)
        {
            return null;
        }
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.AddRange(trusted);
        return policy;
    }

    public void Dispose()
    {
        _disposed = true;
        foreach (var idle in _idle)
        {
            while (idle.TryPop(out var pipe))
            {
                pipe.Dispose();
            }
        }
    }
}

/// <summary>An upstream could not be reached (answered 502); the message is safe to log and to show.</summary>
internal sealed class HttpUpstreamException(string message, Exception inner) : Exception(message, inner);
