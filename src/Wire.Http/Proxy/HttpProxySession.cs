using System.Runtime.CompilerServices;
using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Microsoft.Extensions.Logging;
using Pipelines.Sockets.Unofficial;
using Wire.Enforcement;
using ProtocolViolationException = Wire.Enforcement.ProtocolViolationException;
using Wire.Enforcement.Grants;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Recording;
using Wire.Enforcement.Transport;
using Wire.Http.Protocol;

namespace Wire.Http.Proxy;

/// <summary>
/// One client connection: reads requests one after another (pipelined requests wait their turn), authenticates and
/// routes each, forwards it with Wire's credential for the target, and streams the response back. A malformed
/// request is answered 400 (or its own status) and the connection closed; a malformed or missing upstream response,
/// 502.
/// </summary>
internal sealed partial class HttpProxySession
{
    private static readonly List<SslApplicationProtocol> Http11 = [SslApplicationProtocol.Http11];

    private readonly HttpProxyServer _server;
    private readonly Socket? _socket;
    private readonly long _id;
    private readonly ILogger _logger;
    private readonly HttpHeadCapture _request = new();
    private readonly HttpHeadCapture _response = new();
    private readonly string _clientAddress;
    private readonly string _clientEndPoint;
    private WirePipe? _client;
    private bool _tls;
    private CancellationTokenSource? _headTimeout; // the request head's timer, then the response head's

    private bool _awaitingResponse; // the exchange waits for a response head: the body forwarder starts its timer

    public HttpProxySession(HttpProxyServer server, Socket socket, IPEndPoint? client, long id)
    {
        _server = server;
        _socket = socket;
        _id = id;
        _logger = server.Logger;
        _clientAddress = client?.Address.ToString() ?? "unknown";
        _clientEndPoint = client?.ToString() ?? "unknown";
    }

    /// <summary>A session over connections a host owns: every request it forwards goes to target <paramref name="targetIndex"/> over <paramref name="upstream"/>.</summary>
    public HttpProxySession(HttpProxyServer server, WirePipe client, IPEndPoint? clientEndPoint, WirePipe upstream, int targetIndex, long id)
        : this(server, socket: null!, clientEndPoint, id)
    {
        _hostClient = client;
        _hostUpstream = upstream;
        _hostTarget = targetIndex;
    }

    // A host's own connections (RunAsync): the client's, and the one to its one target (null once it closed).
    private readonly WirePipe? _hostClient;
    private WirePipe? _hostUpstream;
    private readonly int _hostTarget = -1;

    private Http1Limits Limits => _server.Options.Limits;

    /// <summary>This connection's count against the listener's limits: in total, and for the identity of its latest request.</summary>
    private ConnectionLease? _lease;

    public async Task RunAsync(CancellationToken ct)
    {
        if (_server.Enforcement?.Sessions is not null)
        {
            // The connection's own token: an administrator's termination cancels it like a shutdown would.
            _connection = CancellationTokenSource.CreateLinkedTokenSource(ct);
            ct = _connection.Token;
        }
        // Over the listener's limit the first request is read and answered 503, so the client is told why.
        _lease = _server.Gate.Enter();
        try
        {
            _client = await AcceptAsync(ct).ConfigureAwait(false);
            if (_client is null)
            {
                return;
            }
            while (!ct.IsCancellationRequested)
            {
                if (!await ExchangeAsync(ct).ConfigureAwait(false))
                {
                    break;
                }
            }
        }
        catch (ProtocolViolationException e)
        {
            Log.BadRequest(_logger, _id, e.Message);
            if (_client is not null)
            {
                await TryRespondAsync(e.Code == 0 ? 400 : e.Code, e.Message, close: true).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or ConnectionResetException)
        {
            Log.Ended(_logger, _id, e.Message);
        }
        finally
        {
            _lease.Dispose();
            _headTimeout?.Dispose();
            string? terminated = _live?.TerminationReason;
            EndLiveSession();
            _connection?.Dispose();
            await RecordingSessions.CompleteAsync(_recorder, terminated is null ? "connection closed" : "session " + terminated)
                .ConfigureAwait(false);
            if (_client is not null)
            {
                await _client.Pipe.Output.CompleteAsync().ConfigureAwait(false);
                await _client.Pipe.Input.CompleteAsync().ConfigureAwait(false);
                _client.Dispose();
            }
            else
            {
                _socket?.Dispose();
            }
            if (_hostUpstream is { } upstream)
            {
                await upstream.Pipe.Output.CompleteAsync().ConfigureAwait(false);
                await upstream.Pipe.Input.CompleteAsync().ConfigureAwait(false);
                upstream.Dispose();
            }
        }
    }

    /// <summary>Whether the listener's limits refuse this connection (503) or this identity's (429); counts the identity.</summary>
    private (int Status, string Why)? OverLimit(Wire.Enforcement.Identity.WireIdentity identity)
    {
        (int Status, string Why) refusal;
        if (!_lease!.Admitted)
        {
            refusal = (503, _lease.Refuse());
        }
        else if (!_lease.TryCountFor(identity.Subject, out string? why))
        {
            refusal = (429, why);
        }
        else
        {
            return null;
        }
        Log.OverLimit(_logger, _id, refusal.Why);
        return refusal;
    }

    private async ValueTask<WirePipe?> AcceptAsync(CancellationToken ct)
    {
        if (_hostClient is not null)
        {
            return _hostClient; // TLS, if any, is the host's
        }
        if (_server.CertificateContext is not { } certificate)
        {
            // A request's work is a parse, a judgement and a copy: run it where the data arrives (no thread hop).
            var plain = WirePipes.FromSocket(_socket!, "http-client", bufferBytes: _server.Options.BufferBytes);
            plain.RunReaderInline();
            return plain;
        }
        var stream = new SslStream(new NetworkStream(_socket!, ownsSocket: true), leaveInnerStreamOpen: false);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_server.Options.HeadTimeout);
        try
        {
            await stream.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificateContext = certificate,
                ApplicationProtocols = Http11,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                ClientCertificateRequired = false,
            }, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
        {
            // Garbage, plain HTTP on the TLS port, or a client that stalls: nothing to answer in HTTP.
            Log.TlsFailed(_logger, _id, e.Message);
            await stream.DisposeAsync().ConfigureAwait(false);
            return null;
        }
        _tls = true;
        return WirePipes.FromStream(stream, "http-client", _server.Options.BufferBytes);
    }

    /// <summary>One request and its response. False when the connection must close afterwards.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // per request: no state machine box to allocate
    private async ValueTask<bool> ExchangeAsync(CancellationToken ct)
    {
        var input = _client!.Pipe.Input;
        _kubernetesAnswers = false;
        BeginRequestHead(ct);
        Http1RequestHead head;
        while (true)
        {
            ReadResult read;
            try
            {
                read = await input.ReadAsync(_headTimeout!.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                Log.HeadTimeout(_logger, _id);
                return false;
            }
            var taken = TakeRequestHead(input, read, out head);
            if (taken == HeadRead.Complete)
            {
                break;
            }
            if (taken == HeadRead.End)
            {
                return false;
            }
        }

        // Authenticate: the bearer token proves who asks; it never reaches the target.
        var identity = await AuthenticateAsync(ct).ConfigureAwait(false);
        if (identity is null)
        {
            return await RefuseAsync(head, 401, "a valid bearer token is required", ct).ConfigureAwait(false);
        }
        if (OverLimit(identity) is { } refused)
        {
            await TryRespondAsync(refused.Status, refused.Why, close: true).ConfigureAwait(false);
            return false;
        }

        var path = PathOf(_request.Target, head.TargetForm);
        int targetIndex = _server.Router.Route(_request.First(HttpFieldKind.Host), _request.Span(path));
        if (targetIndex < 0)
        {
            return await RefuseAsync(head, 404, "no target serves this host or path", ct).ConfigureAwait(false);
        }
        var target = _server.Options.Targets[targetIndex];
        _kubernetesAnswers = target.Kind == HttpTargetKind.Kubernetes;
        if (_hostTarget >= 0 && targetIndex != _hostTarget)
        {
            // The host's connection reaches one target: another's request (and credential) never goes over it.
            return await RefuseAsync(head, 421, $"this connection reaches target {_server.Options.Targets[_hostTarget].Name} only", ct)
                .ConfigureAwait(false);
        }
        if (target.RequireGrant && _server.Enforcement?.Grants?.FindValid(identity.Subject, target.Name) is null)
        {
            Log.NoGrant(_logger, _id, identity.Subject, target.Name);
            return await RefuseAsync(head, 403, GrantRegistry.NoGrantMessage(target.Name), ct).ConfigureAwait(false);
        }
        if (_server.Enforcement?.Sessions is { } sessions)
        {
            TrackLiveSession(sessions, identity, target);
            if (target.RequireGrant && _live!.Grant is null)
            {
                Log.NoGrant(_logger, _id, identity.Subject, target.Name);
                return await RefuseAsync(head, 403, GrantRegistry.NoGrantMessage(target.Name), ct).ConfigureAwait(false);
            }
        }
        var pool = _server.PoolOf(targetIndex);
        if (head.Upgrade && !IsWebSocket(_request.First(HttpFieldKind.Upgrade)) && !(target.AllowSpdy && IsSpdy(_request.First(HttpFieldKind.Upgrade))))
        {
            return await RefuseAsync(head, IsSpdy(_request.First(HttpFieldKind.Upgrade)) ? 403 : 501,
                IsSpdy(_request.First(HttpFieldKind.Upgrade))
                    ? "SPDY upgrades are refused: use kubectl 1.30 or later, which speaks WebSocket"
                    : "only WebSocket upgrades are supported", ct).ConfigureAwait(false);
        }

        if (target.Impersonate && (!IsFieldSafe(identity.Subject) || !identity.Groups.All(IsFieldSafe)))
        {
            // Fail closed: without impersonation the request would run with Wire's own (privileged) credential.
            return await RefuseAsync(head, 403, "the identity cannot be impersonated (its name or a group is not plain ASCII)", ct)
                .ConfigureAwait(false);
        }

        var judgement = await JudgeAsync(head, target, identity, path, ct).ConfigureAwait(false);
        var recorder = judgement is null ? null : await RecorderForAsync(identity, target).ConfigureAwait(false);
        if (judgement is { } judged)
        {
            if (!judged.Refused && RecordingRefuses(recorder))
            {
                judged = judged with { Status = 503, Detail = "the session cannot be recorded; the request was not forwarded", Outcome = "refused" };
            }
            RecordCommand(recorder, judged);
            if (judged.Refused)
            {
                RecordResult(recorder, judged.Status, Title(judged.Status), 0, _server.Enforcement!.Time.GetTimestamp());
                return await RefuseAsync(head, judged.Status, judged.Detail!, ct).ConfigureAwait(false);
            }
        }
        long started = _server.Enforcement?.Time.GetTimestamp() ?? 0;

        WirePipe upstream;
        try
        {
            upstream = _hostTarget < 0
                ? await pool.RentAsync(ct).ConfigureAwait(false)
                : _hostUpstream ?? throw new HttpUpstreamException("the host's connection to it closed", new IOException("closed"));
        }
        catch (HttpUpstreamException e)
        {
            Log.UpstreamUnreachable(_logger, _id, target.Name, e.Message);
            return await RefuseAsync(head, 502, $"target {target.Name} is unreachable", ct).ConfigureAwait(false);
        }

        bool reusable = false;
        try
        {
            WriteRequestHead(upstream.Pipe.Output, head, target, pool, _request.Span(path), identity, masked: judgement?.Mask is not null);
            await upstream.Pipe.Output.FlushAsync(ct).ConfigureAwait(false);
            Log.Forwarded(_logger, _id, identity.Subject, target.Name);

            _upstreamInput = upstream.Pipe.Input;
            _bodyError = null;
            var body = head.Body == Http1BodyKind.None
                ? Task.FromResult(true)
                : ForwardBodyAsync(input, upstream, Http1BodyReader.Create(head.Body, head.ContentLength, Limits, request: true), ct);
            // The response heads are awaited here, in the exchange's own frame (1xx go to HTTP/1.1 clients as they are,
            // RFC 9110 §15.2); the final one is finished by FinishResponseAsync.
            _responseStarted = false;
            var upstreamInput = upstream.Pipe.Input;
            Http1ResponseHead response;
            // The response timeout runs from when the request is through (its body may take as long as the client takes).
            var responseWait = _headTimeout!.Token;
            Volatile.Write(ref _awaitingResponse, true);
            if (body.IsCompleted)
            {
                _headTimeout.CancelAfter(_server.Options.ResponseTimeout);
            }
            while (true)
            {
                _response.Reset();
                while (true)
                {
                    ReadResult read;
                    try
                    {
                        read = await upstreamInput.ReadAsync(responseWait).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                    {
                        Log.ResponseTimeout(_logger, _id, target.Name, _server.Options.ResponseTimeout);
                        if (!_responseStarted)
                        {
                            await TryRespondAsync(504, $"target {target.Name} did not answer within {_server.Options.ResponseTimeout:c}", close: true)
                                .ConfigureAwait(false);
                        }
                        return false;
                    }
                    if (read.IsCanceled && _bodyError is { } bodyError)
                    {
                        throw bodyError;
                    }
                    if (TakeResponseHead(upstreamInput, read, head.Method, out response) == HeadRead.Complete)
                    {
                        break;
                    }
                }
                if (!response.IsInterim)
                {
                    break;
                }
                if (head.Version == Http1Version.Http11)
                {
                    WriteResponseHead(_client.Pipe.Output, response, close: false);
                    await _client.Pipe.Output.FlushAsync(ct).ConfigureAwait(false);
                }
            }
            Volatile.Write(ref _awaitingResponse, false);
            _headTimeout.CancelAfter(Timeout.InfiniteTimeSpan);
            var outcome = await FinishResponseAsync(upstream, head, response, judgement?.Mask, recorder, ct).ConfigureAwait(false);
            _live?.AddBytes(0, _responseHeadBytes + outcome.BodyBytes);
            bool bodyDone = body.IsCompleted && await body.ConfigureAwait(false);
            if (!bodyDone)
            {
                // The upstream answered before the request body was through: the rest of it cannot be told from the
                // next request, so the connection ends after this response (the upstream's too).
                upstream.Pipe.Input.CancelPendingRead();
                outcome = outcome with { UpstreamReusable = false, ClientKeepAlive = false };
                await ObserveAsync(body).ConfigureAwait(false);
            }
            reusable = outcome.UpstreamReusable;
            if (recorder is not null)
            {
                RecordResult(recorder, outcome.Status, System.Text.Encoding.Latin1.GetString(_response.Span(_response.Reason)), outcome.BodyBytes, started,
                    outcome.Masked);
                RecordBodySample(recorder, outcome.Sample);
            }
            return outcome.ClientKeepAlive && head.KeepAlive;
        }
        catch (ProtocolViolationException e) when (e.Code == 502)
        {
            Log.BadResponse(_logger, _id, target.Name, e.Message);
            if (!_responseStarted)
            {
                await TryRespondAsync(502, $"target {target.Name} sent a malformed response", close: true).ConfigureAwait(false);
            }
            return false;
        }
        catch (Exception e) when (e is IOException or SocketException or ConnectionResetException && !ct.IsCancellationRequested && !_responseStarted)
        {
            Log.UpstreamUnreachable(_logger, _id, target.Name, e.Message);
            await TryRespondAsync(502, $"target {target.Name} closed the connection", close: true).ConfigureAwait(false);
            return false;
        }
        finally
        {
            if (_hostTarget >= 0)
            {
                if (!reusable)
                {
                    // The host's connection cannot carry another exchange: later requests are answered 502.
                    _hostUpstream = null;
                    await upstream.Pipe.Output.CompleteAsync().ConfigureAwait(false);
                    await upstream.Pipe.Input.CompleteAsync().ConfigureAwait(false);
                    upstream.Dispose();
                }
            }
            else if (reusable)
            {
                pool.Return(upstream);
            }
            else
            {
                await upstream.Pipe.Output.CompleteAsync().ConfigureAwait(false);
                await upstream.Pipe.Input.CompleteAsync().ConfigureAwait(false);
                upstream.Dispose();
            }
        }
    }

    private static async Task ObserveAsync(Task<bool> body)
    {
        try
        {
            await body.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or TimeoutException or ConnectionResetException
            or InvalidOperationException or ProtocolViolationException)
        {
            // The body forwarder ends with the connection; its error is the connection's, already handled.
        }
    }

    private enum HeadRead : byte
    {
        Complete,
        NeedMore,
        End,
    }

    /// <summary>Arms the head timeout for the next request (one timer per connection, re-armed per request).</summary>
    private void BeginRequestHead(CancellationToken ct)
    {
        _request.Reset();
        if (_headTimeout is null || !_headTimeout.TryReset())
        {
            _headTimeout?.Dispose();
            _headTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        }
        _headTimeout.CancelAfter(_server.Options.HeadTimeout);
    }

    /// <summary>
    /// Parses a request head from what one read returned (synchronous: the exchange awaits the reads itself, so no
    /// async frame of its own is allocated per request).
    /// </summary>
    private HeadRead TakeRequestHead(PipeReader input, in ReadResult result, out Http1RequestHead head)
    {
        var buffer = result.Buffer;
        var reader = new SequenceReader<byte>(buffer);
        var handler = new HttpHeadCapture.Handler(_request);
        bool complete = false;
        try
        {
            complete = Http1Parser.TryParseRequestHead(ref reader, ref handler, Limits, out head);
        }
        finally
        {
            // Everything was examined only when the head is incomplete: a complete one may be followed by the next.
            input.AdvanceTo(reader.Position, complete ? reader.Position : buffer.End);
        }
        if (complete)
        {
            _requestHeadBytes = reader.Consumed;
            _headTimeout!.CancelAfter(Timeout.InfiniteTimeSpan);
            _request.ApplyConnectionOptions();
            return HeadRead.Complete;
        }
        if (result.IsCompleted)
        {
            if (!buffer.IsEmpty)
            {
                ProtocolViolationException.Throw("the connection ended inside a request head");
            }
            return HeadRead.End;
        }
        return HeadRead.NeedMore;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // per request: no state machine box to allocate
    private async ValueTask<WireIdentity?> AuthenticateAsync(CancellationToken ct)
    {
        var authorization = _request.First(HttpFieldKind.Authorization);
        if (authorization.Length <= 7 || !System.Text.Ascii.EqualsIgnoreCase(authorization[..7], "Bearer "u8))
        {
            return null;
        }
        // The same static token again on this connection, with the same token set in force: the same identity, without
        // hashing the token again. Only static tokens: a JWT may expire between two requests, and a reload that swaps
        // the validator (a removed token) is seen here as a new snapshot.
        var snapshot = _server.IdentityValidator is ReloadableIdentityValidator reloadable ? reloadable.Current : _server.IdentityValidator;
        if (_lastIdentity is not null && ReferenceEquals(snapshot, _lastValidator) && authorization.SequenceEqual(_lastAuthorization))
        {
            return _lastIdentity;
        }
        string token = Encoding.ASCII.GetString(authorization[7..].Trim((byte)' '));
        var result = await _server.IdentityValidator.ValidateAsync(token, ct).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            Log.AuthenticationFailed(_logger, _id, result.FailureReason ?? "rejected");
            _lastIdentity = null;
            return null;
        }
        if (result.Identity!.Method == StaticTokenValidator.MethodName)
        {
            _lastIdentity = result.Identity;
            _lastValidator = snapshot;
            _lastAuthorization = _request.First(HttpFieldKind.Authorization).ToArray();
        }
        return result.Identity;
    }

    private WireIdentity? _lastIdentity;
    private object? _lastValidator;
    private byte[] _lastAuthorization = [];

    /// <summary>
    /// Where the path and query are in the request-target (absolute-form reduced to origin-form; asterisk as is), as a
    /// range of the captured head: spans cannot live across the awaits of an exchange.
    /// </summary>
    private (int Start, int Length) PathOf((int Start, int Length) target, Http1TargetForm form)
    {
        if (form != Http1TargetForm.Absolute)
        {
            return target;
        }
        var text = _request.Span(target);
        int scheme = text.IndexOf("://"u8) + 3;
        int slash = text[scheme..].IndexOfAny((byte)'/', (byte)'?');
        return slash < 0 ? (target.Start + target.Length, 0) : (target.Start + scheme + slash, target.Length - scheme - slash);
    }

    private static bool IsWebSocket(ReadOnlySpan<byte> upgrade) => System.Text.Ascii.EqualsIgnoreCase(upgrade.Trim((byte)' '), "websocket"u8);

    private static bool IsSpdy(ReadOnlySpan<byte> upgrade) => upgrade.Length >= 4 && System.Text.Ascii.EqualsIgnoreCase(upgrade[..4], "SPDY"u8);

    private static partial class Log
    {
        [LoggerMessage(3016, LogLevel.Information, "HTTP session {SessionId}: upgraded connection idle for more than {Timeout} (http.limits.idleTimeout); closing it")]
        public static partial void Idle(ILogger logger, long sessionId, TimeSpan timeout);

        [LoggerMessage(3015, LogLevel.Warning, "HTTP session {SessionId}: refused: {Reason}")]
        public static partial void OverLimit(ILogger logger, long sessionId, string reason);

        [LoggerMessage(3014, LogLevel.Warning, "HTTP session {SessionId}: {Subject} refused: no valid grant for target {Target}")]
        public static partial void NoGrant(ILogger logger, long sessionId, string subject, string target);

        [LoggerMessage(3001, LogLevel.Information, "HTTP session {SessionId}: malformed request: {Reason}")]
        public static partial void BadRequest(ILogger logger, long sessionId, string reason);

        [LoggerMessage(3002, LogLevel.Debug, "HTTP session {SessionId} ended: {Reason}")]
        public static partial void Ended(ILogger logger, long sessionId, string reason);

        [LoggerMessage(3003, LogLevel.Information, "HTTP session {SessionId}: TLS handshake failed: {Reason}")]
        public static partial void TlsFailed(ILogger logger, long sessionId, string reason);

        [LoggerMessage(3004, LogLevel.Warning, "HTTP session {SessionId}: target {Target}: {Reason}")]
        public static partial void UpstreamUnreachable(ILogger logger, long sessionId, string target, string reason);

        [LoggerMessage(3005, LogLevel.Warning, "HTTP session {SessionId}: target {Target} sent a malformed response: {Reason}")]
        public static partial void BadResponse(ILogger logger, long sessionId, string target, string reason);

        [LoggerMessage(3006, LogLevel.Information, "HTTP session {SessionId}: authentication failed: {Reason}")]
        public static partial void AuthenticationFailed(ILogger logger, long sessionId, string reason);

        [LoggerMessage(3007, LogLevel.Debug, "HTTP session {SessionId}: {Subject} -> {Target}")]
        public static partial void Forwarded(ILogger logger, long sessionId, string subject, string target);

        [LoggerMessage(3008, LogLevel.Information, "HTTP session {SessionId}: no request head within the timeout; closing")]
        public static partial void HeadTimeout(ILogger logger, long sessionId);

        [LoggerMessage(3009, LogLevel.Warning, "HTTP session {SessionId}: target {Target} did not begin its response within {Timeout}; answered 504")]
        public static partial void ResponseTimeout(ILogger logger, long sessionId, string target, TimeSpan timeout);
    }
}
