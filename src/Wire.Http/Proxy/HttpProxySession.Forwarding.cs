using System.Runtime.CompilerServices;
using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Wire.Enforcement;
using ProtocolViolationException = Wire.Enforcement.ProtocolViolationException;
using Wire.Enforcement.Diagnostics;
using Wire.Enforcement.Identity;
using Wire.Enforcement.Sessions;
using Wire.Enforcement.Transport;
using Wire.Http.Enforcement;
using Wire.Http.Protocol;

namespace Wire.Http.Proxy;

internal sealed partial class HttpProxySession
{
    private static readonly KeyValuePair<string, object?> ProtocolTag = new("network.protocol.name", "http");
    private static readonly KeyValuePair<string, object?> ToUpstreamTag = new("wire.direction", "to_upstream");
    private static readonly KeyValuePair<string, object?> ToClientTag = new("wire.direction", "to_client");

    private bool _responseStarted;

    // Whether Wire's own answers take the Kubernetes API's shape (a metav1.Status): the request went to a kubernetes target.
    private bool _kubernetesAnswers;
    private Exception? _bodyError;

    /// <summary>How the exchange left the two connections.</summary>
    private readonly record struct ExchangeOutcome(bool UpstreamReusable, bool ClientKeepAlive, int Status = 0, long BodyBytes = 0, long Masked = 0,
        byte[]? Sample = null);

    /// <summary>
    /// The request head as the target gets it (RFC 9110 §7.6): Host is the target's; the client's Authorization,
    /// hop-by-hop fields (and those its Connection names), Impersonate-* and X-Forwarded-*/Forwarded are dropped; Wire's
    /// credential, impersonation and X-Forwarded-For/Proto/Host are added.
    /// </summary>
    private void WriteRequestHead(PipeWriter output, in Http1RequestHead head, HttpTargetOptions target, HttpUpstreamPool pool,
        ReadOnlySpan<byte> path, WireIdentity identity, bool masked)
    {
        output.Write(_request.Span(_request.MethodText));
        output.Write(" "u8);
        if (head.TargetForm == Http1TargetForm.Asterisk)
        {
            output.Write("*"u8);
        }
        else
        {
            WriteAscii(output, pool.BasePath);
            var forwarded = path;
            if (target.StripPrefix && target.PathPrefix is { } prefix && HttpRouter.PrefixMatches(prefix, path))
            {
                forwarded = path[prefix.TrimEnd('/').Length..];
            }
            if (forwarded.IsEmpty || forwarded[0] != (byte)'/')
            {
                output.Write("/"u8);
            }
            output.Write(forwarded);
        }
        output.Write(head.Version == Http1Version.Http11 ? " HTTP/1.1\r\nHost: "u8 : " HTTP/1.0\r\nHost: "u8);
        WriteAscii(output, pool.Authority);
        output.Write("\r\n"u8);

        foreach (var field in _request.Fields)
        {
            if (field.Kind is HttpFieldKind.Other or HttpFieldKind.Framing || field.Kind == HttpFieldKind.Upgrade && head.Upgrade)
            {
                if (masked && IsReplacedWhenMasked(field, target))
                {
                    continue;
                }
                output.Write(_request.Line(field));
                output.Write("\r\n"u8);
            }
        }
        if (masked)
        {
            // A body Wire must read to mask: uncompressed, and from Kubernetes JSON rather than protobuf.
            output.Write("Accept-Encoding: identity\r\n"u8);
            if (target.Kind == HttpTargetKind.Kubernetes && _request.First("accept"u8).IndexOf("protobuf"u8) >= 0)
            {
                output.Write("Accept: application/json\r\n"u8);
            }
        }
        if (head.Upgrade)
        {
            output.Write("Connection: Upgrade\r\n"u8);
        }
        if (target.CredentialHeader is { } credential)
        {
            WriteAscii(output, credential);
            output.Write(": "u8);
            WriteAscii(output, target.CredentialValue ?? "");
            output.Write("\r\n"u8);
        }
        if (target.Impersonate)
        {
            output.Write("Impersonate-User: "u8);
            WriteAscii(output, identity.Subject);
            output.Write("\r\n"u8);
            foreach (var group in identity.Groups)
            {
                output.Write("Impersonate-Group: "u8);
                WriteAscii(output, group);
                output.Write("\r\n"u8);
            }
        }
        output.Write("X-Forwarded-For: "u8);
        WriteAscii(output, _clientAddress);
        output.Write(_tls ? "\r\nX-Forwarded-Proto: https\r\n"u8 : "\r\nX-Forwarded-Proto: http\r\n"u8);
        var host = _request.First(HttpFieldKind.Host);
        if (!host.IsEmpty)
        {
            output.Write("X-Forwarded-Host: "u8);
            output.Write(host);
            output.Write("\r\n"u8);
        }
        output.Write("\r\n"u8);
        // Timed from the read that completed the head (authentication, routing, judging and the upstream connection
        // included) to its hand-over to the upstream's pipe, which the caller flushes next.
        Relayed(_requestHeadBytes, _request.ReadAt, toClient: false);
    }

    private bool IsReplacedWhenMasked(HttpField field, HttpTargetOptions target)
    {
        var name = _request.Name(field);
        return System.Text.Ascii.EqualsIgnoreCase(name, "accept-encoding"u8)
            || target.Kind == HttpTargetKind.Kubernetes && System.Text.Ascii.EqualsIgnoreCase(name, "accept"u8) && _request.Value(field).IndexOf("protobuf"u8) >= 0;
    }

    /// <summary>Whether a value can go into a header field as it is (visible ASCII and spaces only).</summary>
    private static bool IsFieldSafe(string value)
    {
        foreach (char c in value)
        {
            if (c is < ' ' or > '~')
            {
                return false;
            }
        }
        return true;
    }

    private static void WriteAscii(PipeWriter output, string text)
    {
        var span = output.GetSpan(text.Length);
        int written = Encoding.ASCII.GetBytes(text, span);
        output.Advance(written);
    }

    /// <summary>Streams a request body to the upstream. True when the whole body went through.</summary>
    private async Task<bool> ForwardBodyAsync(PipeReader input, WirePipe upstreamPipe, Http1BodyReader body, CancellationToken ct)
    {
        try
        {
            var (complete, bytes) = await CopyBodyAsync(input, upstreamPipe, body, toClient: false, ct).ConfigureAwait(false);
            _live?.AddBytes(bytes, 0);
            if (complete && Volatile.Read(ref _awaitingResponse))
            {
                _headTimeout!.CancelAfter(_server.Options.ResponseTimeout);
            }
            if (!complete && !_responseStarted)
            {
                // The client left before its body was through: the upstream would wait for the rest (and Wire for its
                // answer) for ever. End the exchange; its upstream connection is closed, which aborts the request there.
                _bodyError = new IOException("the request body was cut short: the connection closed in the middle of it");
                _upstreamInput?.CancelPendingRead();
            }
            return complete;
        }
        catch (ProtocolViolationException e)
        {
            // Malformed chunked framing from the client: stop waiting for the upstream, answer 400 and close.
            _bodyError = new ProtocolViolationException(e.Message, e.Code == 0 ? 400 : e.Code);
            _upstreamInput?.CancelPendingRead();
            return false;
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or Pipelines.Sockets.Unofficial.ConnectionResetException
            or ObjectDisposedException)
        {
            // The client's connection broke (reset) in the middle of its body: as above.
            _bodyError = new IOException("the client connection broke in the middle of its request body: " + e.Message, e);
            _upstreamInput?.CancelPendingRead();
            return false;
        }
    }

    private PipeReader? _upstreamInput;

    /// <summary>
    /// Writes the final response head and forwards its body (or, after 101, runs the tunnel). Returns synchronously
    /// when the body is already buffered, which for small responses it usually is: no async frame per request.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ExchangeOutcome> FinishResponseAsync(WirePipe upstream, Http1RequestHead request, Http1ResponseHead head,
        HttpMaskPlan? mask, Wire.Enforcement.Recording.ISessionRecorder? recorder, CancellationToken ct)
    {
        var input = upstream.Pipe.Input;
        var output = _client!.Pipe.Output;
        if (head.IsSwitchingProtocols)
        {
            if (!request.Upgrade)
            {
                ProtocolViolationException.Throw("101 Switching Protocols without an upgrade request", 502);
            }
            WriteResponseHead(output, head, close: false);
            _responseStarted = true;
            await output.FlushAsync(ct).ConfigureAwait(false);
            Relayed(_responseHeadBytes, _response.ReadAt, toClient: true);
            if (_kubernetesAnswers && IsKubernetesChannel() && (mask?.Scanner is not null || recorder is not null))
            {
                await InspectedTunnelAsync(upstream, mask?.Scanner, recorder, ct).ConfigureAwait(false);
            }
            else
            {
                await TunnelAsync(upstream, ct).ConfigureAwait(false);
            }
            return new ExchangeOutcome(false, false, 101);
        }

        bool clientKeepAlive = request.KeepAlive && head.Body != Http1BodyKind.CloseDelimited;
        var content = mask is null || head.Body == Http1BodyKind.None ? MaskedContent.None : ContentOf();
        if (content == MaskedContent.Refused)
        {
            // Fail closed: a body Wire cannot read is not forwarded on a route whose responses it must mask.
            ProtocolViolationException.Throw("the response body cannot be inspected (compressed, or neither JSON nor text) on a masked route", 502);
        }
        WriteResponseHead(output, head, close: !clientKeepAlive);
        _responseStarted = true;
        var body = Http1BodyReader.Create(head.Body, head.ContentLength, Limits, request: false);
        // The head goes out with the body's first chunk, timed from that chunk's read; without a body it is timed alone.
        bool headAlone = body.IsComplete;
        Relayed(_responseHeadBytes, 0, toClient: true);
        if (content != MaskedContent.None)
        {
            var (done, sent, masked, sample) = await ForwardMaskedBodyAsync(input, output, body, head.Body == Http1BodyKind.Chunked, content, mask!, ct)
                .ConfigureAwait(false);
            return new ExchangeOutcome(done && head.KeepAlive && head.Body != Http1BodyKind.CloseDelimited, clientKeepAlive && done, head.Status,
                sent, masked, sample);
        }
        var (complete, bytes) = await CopyBodyAsync(input, _client, body, toClient: true, ct).ConfigureAwait(false);
        if (headAlone)
        {
            RecordLatency(_response.ReadAt, toClient: true);
        }
        return new ExchangeOutcome(complete && head.KeepAlive && head.Body != Http1BodyKind.CloseDelimited, clientKeepAlive && complete, head.Status,
            bytes);
    }

    /// <summary>Parses a response head from what one read returned (synchronous, as <see cref="TakeRequestHead"/>).</summary>
    private HeadRead TakeResponseHead(PipeReader input, in ReadResult result, Http1Method method, out Http1ResponseHead head)
    {
        var buffer = result.Buffer;
        var reader = new SequenceReader<byte>(buffer);
        var handler = new HttpHeadCapture.Handler(_response);
        bool complete = false;
        try
        {
            complete = Http1Parser.TryParseResponseHead(ref reader, ref handler, Limits, method, out head);
        }
        finally
        {
            input.AdvanceTo(reader.Position, complete ? reader.Position : buffer.End);
        }
        if (complete)
        {
            _responseHeadBytes = reader.Consumed;
            _response.ApplyConnectionOptions();
            return HeadRead.Complete;
        }
        if (result.IsCompleted)
        {
            throw new IOException("the target closed the connection before its response was complete");
        }
        return HeadRead.NeedMore;
    }

    /// <summary>The response head as the client gets it: hop-by-hop fields dropped, Connection set by Wire.</summary>
    private void WriteResponseHead(PipeWriter output, in Http1ResponseHead head, bool close)
    {
        output.Write("HTTP/1.1 "u8);
        Span<byte> status = stackalloc byte[3];
        head.Status.TryFormat(status, out _, default, CultureInfo.InvariantCulture);
        output.Write(status);
        output.Write(" "u8);
        output.Write(_response.Span(_response.Reason));
        output.Write("\r\n"u8);
        foreach (var field in _response.Fields)
        {
            if (field.Kind is HttpFieldKind.Other or HttpFieldKind.Framing or HttpFieldKind.Authorization or HttpFieldKind.Host
                or HttpFieldKind.Forwarded or HttpFieldKind.Impersonate
                || field.Kind == HttpFieldKind.Upgrade && head.IsSwitchingProtocols)
            {
                output.Write(_response.Line(field));
                output.Write("\r\n"u8);
            }
        }
        if (head.IsSwitchingProtocols)
        {
            output.Write("Connection: Upgrade\r\n"u8);
        }
        else if (close)
        {
            output.Write("Connection: close\r\n"u8);
        }
        output.Write("\r\n"u8);
    }

    /// <summary>Advances over as much of the body as is buffered; the bytes go on unchanged, as one slice per read.</summary>
    private static void ConsumeBody(ref Http1BodyReader body, ref SequenceReader<byte> reader)
    {
        while (!body.IsComplete && body.TryRead(ref reader, out _, out _))
        {
        }
    }

    /// <summary>Sends <paramref name="bytes"/> straight from the receive buffer when the socket takes them (no copy); queues the rest.</summary>
    private static void Forward(IDirectSender? direct, PipeWriter output, in ReadOnlySequence<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return;
        }
        long sent = direct?.TrySendDirect(bytes) ?? 0;
        if (sent < bytes.Length)
        {
            Write(output, bytes.Slice(sent));
        }
    }

    /// <summary>
    /// Streams a body, request or response, to <paramref name="destination"/> unchanged: one slice per read, sent
    /// straight from the receive buffer when the socket takes it. True when it ended where its framing says (a
    /// close-delimited body ends with its connection).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // per request: no state machine box to allocate
    private static async ValueTask<(bool Complete, long Bytes)> CopyBodyAsync(PipeReader input, WirePipe destination, Http1BodyReader body,
        bool toClient, CancellationToken ct)
    {
        var output = destination.Pipe.Output;
        var direct = destination.Pipe as IDirectSender;
        if (body.IsComplete)
        {
            await output.FlushAsync(ct).ConfigureAwait(false);
            return (true, 0);
        }
        long bytes = 0;
        while (true)
        {
            var result = await input.ReadAsync(ct).ConfigureAwait(false);
            long started = LatencyStart();
            var buffer = result.Buffer;
            var reader = new SequenceReader<byte>(buffer);
            long chunk = 0;
            try
            {
                ConsumeBody(ref body, ref reader);
                var forwarded = buffer.Slice(0, reader.Position);
                chunk = forwarded.Length;
                bytes += chunk;
                Forward(direct, output, forwarded);
            }
            finally
            {
                input.AdvanceTo(reader.Position, body.IsComplete ? reader.Position : buffer.End);
            }
            var flush = await output.FlushAsync(ct).ConfigureAwait(false);
            Relayed(chunk, started, toClient);
            if (body.IsComplete)
            {
                return (true, bytes);
            }
            if (result.IsCompleted)
            {
                // A close-delimited body ends here as it should; any other body was cut short.
                return (body.EndsAtClose, bytes);
            }
            if (flush.IsCompleted)
            {
                return (false, bytes);
            }
        }
    }

    /// <summary>A timestamp for <c>wire.proxy.added_latency</c>; 0 (not timed) while no listener is attached.</summary>
    private static long LatencyStart() => WireDiagnostics.AddedLatency.Enabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>
    /// Counts <paramref name="bytes"/> relayed one way in <c>wire.bytes</c> and, when <paramref name="started"/> is a
    /// timestamp, the time since it in <c>wire.proxy.added_latency</c>. Nothing when nothing was relayed.
    /// </summary>
    private static void Relayed(long bytes, long started, bool toClient)
    {
        if (bytes <= 0)
        {
            return;
        }
        WireDiagnostics.BytesRelayed.Add(bytes, ProtocolTag, toClient ? ToClientTag : ToUpstreamTag);
        RecordLatency(started, toClient);
    }

    private static void RecordLatency(long started, bool toClient)
    {
        if (started != 0)
        {
            WireDiagnostics.AddedLatency.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, ProtocolTag,
                toClient ? ToClientTag : ToUpstreamTag);
        }
    }

    private static void Write(IBufferWriter<byte> output, in ReadOnlySequence<byte> part)
    {
        foreach (var segment in part)
        {
            output.Write(segment.Span);
        }
    }

    /// <summary>After 101: bytes both ways until either side closes.</summary>
    private Task TunnelAsync(WirePipe upstream, CancellationToken ct) => BothWaysAsync(
        token => CopyAsync(_client!.Pipe.Input, upstream.Pipe.Output, _live, fromClient: true, _tunnelIdle, token),
        token => CopyAsync(upstream.Pipe.Input, _client!.Pipe.Output, _live, fromClient: false, _tunnelIdle, token), ct);

    /// <summary>Watches an upgraded connection for idleness (<c>limits.idleTimeout</c>); null when none runs.</summary>
    private IdleWatch? _tunnelIdle;

    /// <summary>
    /// Runs the two directions of an upgraded connection until either ends, then stops the other. With an idle timeout, a
    /// connection that carries nothing for that long is closed.
    /// </summary>
    private async Task BothWaysAsync(Func<CancellationToken, Task> clientToUpstream, Func<CancellationToken, Task> upstreamToClient, CancellationToken ct)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var idleTimeout = _server.Options.Connections.IdleTimeout;
        using var idle = idleTimeout > TimeSpan.Zero
            ? new IdleWatch(idleTimeout, () =>
            {
                Log.Idle(_logger, _id, idleTimeout);
                stop.Cancel();
            })
            : null;
        _tunnelIdle = idle;
        var up = clientToUpstream(stop.Token);
        var down = upstreamToClient(stop.Token);
        await Task.WhenAny(up, down).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(up, down).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or System.Net.Sockets.SocketException
            or ProtocolViolationException)
        {
            // One side went away or broke the framing: the connection ends with it.
            if (e is ProtocolViolationException violation)
            {
                Log.Ended(_logger, _id, "WebSocket: " + violation.Message);
            }
        }
    }

    private static async Task CopyAsync(PipeReader from, PipeWriter to, LiveSession? live, bool fromClient, IdleWatch? idle, CancellationToken ct)
    {
        while (true)
        {
            var result = await from.ReadAsync(ct).ConfigureAwait(false);
            idle?.Touch();
            long started = LatencyStart();
            long length = result.Buffer.Length;
            foreach (var segment in result.Buffer)
            {
                to.Write(segment.Span);
            }
            live?.AddBytes(fromClient ? length : 0, fromClient ? 0 : length);
            from.AdvanceTo(result.Buffer.End);
            var flush = await to.FlushAsync(ct).ConfigureAwait(false);
            Relayed(length, started, toClient: !fromClient);
            if (result.IsCompleted || flush.IsCompleted)
            {
                await to.CompleteAsync().ConfigureAwait(false);
                return;
            }
        }
    }

    /// <summary>
    /// Answers a request Wire does not forward. Its body is read and dropped up to <see cref="Http1Limits.MaxDrainBytes"/>
    /// so the next request is found where it starts; a larger (or announced-later) body closes the connection instead.
    /// </summary>
    private async ValueTask<bool> RefuseAsync(Http1RequestHead head, int status, string detail, CancellationToken ct)
    {
        bool keepAlive = head.KeepAlive && !head.ExpectContinue && await DrainAsync(head, ct).ConfigureAwait(false);
        await TryRespondAsync(status, detail, close: !keepAlive).ConfigureAwait(false);
        return keepAlive;
    }

    private async ValueTask<bool> DrainAsync(Http1RequestHead head, CancellationToken ct)
    {
        if (head.Body == Http1BodyKind.None)
        {
            return true;
        }
        if (head.Body == Http1BodyKind.ContentLength && head.ContentLength > Limits.MaxDrainBytes)
        {
            return false;
        }
        var input = _client!.Pipe.Input;
        var body = Http1BodyReader.Create(head.Body, head.ContentLength, Limits, request: true);
        long drained = 0;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_server.Options.HeadTimeout);
        try
        {
            while (!body.IsComplete && drained <= Limits.MaxDrainBytes)
            {
                var result = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
                var reader = new SequenceReader<byte>(result.Buffer);
                while (!body.IsComplete && body.TryRead(ref reader, out var part, out _))
                {
                    drained += part.Length;
                }
                input.AdvanceTo(reader.Position, body.IsComplete ? reader.Position : result.Buffer.End);
                if (result.IsCompleted && !body.IsComplete)
                {
                    return false;
                }
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
        return body.IsComplete;
    }

    /// <summary>Writes one of Wire's own answers: a JSON problem (RFC 9457). Never throws for a gone client.</summary>
    private async ValueTask TryRespondAsync(int status, string detail, bool close)
    {
        var output = _client!.Pipe.Output;
        try
        {
            var body = new ArrayBufferWriter<byte>(256);
            using (var json = new Utf8JsonWriter(body))
            {
                json.WriteStartObject();
                if (_kubernetesAnswers)
                {
                    // The API server's own error shape (metav1.Status), so kubectl and client libraries show the message.
                    json.WriteString("kind"u8, "Status"u8);
                    json.WriteString("apiVersion"u8, "v1"u8);
                    json.WriteStartObject("metadata"u8);
                    json.WriteEndObject();
                    json.WriteString("status"u8, "Failure"u8);
                    json.WriteString("message"u8, "wire: " + detail);
                    json.WriteString("reason"u8, KubernetesReason(status));
                    json.WriteNumber("code"u8, status);
                }
                else
                {
                    json.WriteString("type"u8, "about:blank"u8);
                    json.WriteString("title"u8, Title(status));
                    json.WriteNumber("status"u8, status);
                    json.WriteString("detail"u8, detail);
                }
                json.WriteEndObject();
            }
            var head = new StringBuilder(256)
                .Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {Title(status)}\r\n")
                .Append(_kubernetesAnswers ? "Content-Type: application/json\r\n" : "Content-Type: application/problem+json\r\n")
                .Append(CultureInfo.InvariantCulture, $"Content-Length: {body.WrittenCount}\r\n");
            if (status == 401)
            {
                head.Append("WWW-Authenticate: Bearer realm=\"wire\"\r\n");
            }
            if (close)
            {
                head.Append("Connection: close\r\n");
            }
            head.Append("\r\n");
            WriteAscii(output, head.ToString());
            output.Write(body.WrittenSpan);
            await output.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            // The client is gone; nothing to tell it.
        }
    }

    // metav1.StatusReason values for the statuses Wire answers with.
    private static string KubernetesReason(int status) => status switch
    {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "InternalError",
    };

    private static string Title(int status) => status switch
    {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    };
}
