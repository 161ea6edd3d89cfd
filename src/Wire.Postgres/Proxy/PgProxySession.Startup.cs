using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Wire.Enforcement;
using Wire.Enforcement.Diagnostics;
using Wire.Enforcement.Grants;
using Wire.Enforcement.Identity;
using Wire.Postgres.Protocol;

namespace Wire.Postgres.Proxy;

internal sealed partial class PgProxySession
{
    private static readonly List<SslApplicationProtocol> PostgresAlpn = [new SslApplicationProtocol("postgresql"u8.ToArray())];

    /// <summary>
    /// Runs the startup phase on plain streams. Returns true when both legs are logged in and the
    /// client has received AuthenticationOk, the server's parameters, Wire's BackendKeyData and
    /// ReadyForQuery. Every refusal is answered with a FATAL ErrorResponse and false.
    /// </summary>
    private async Task<bool> HandshakeAsync(CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Options.Limits.HandshakeTimeout);
        var token = timeout.Token;
        using var io = PgHandshakeIO.Rent(_clientStream);
        try
        {
            return await HandshakeCoreAsync(io, token).ConfigureAwait(false);
        }
        catch (ProtocolViolationException ex)
        {
            Log.ProtocolViolation(_logger, Id, "client", ex.Message);
            await SendFatalAsync(io, PgSqlState.ProtocolViolation, ex.Message, ct).ConfigureAwait(false);
            return false;
        }
        catch (PgRefusal ex)
        {
            Log.Refused(_logger, Id, _clientEndPoint, ex.SqlState, ex.Message);
            await SendFatalAsync(io, ex.SqlState, ex.Message, ct).ConfigureAwait(false);
            return false;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            // As PostgreSQL does at authentication_timeout: a client that still listens learns why it was cut off.
            Log.HandshakeTimedOut(_logger, Id, _clientEndPoint, Options.Limits.HandshakeTimeout);
            await SendFatalAsync(io, PgSqlState.QueryCanceled,
                $"canceling authentication due to timeout: the connection handshake did not finish within {Options.Limits.HandshakeTimeout:c}", ct)
                .ConfigureAwait(false);
            return false;
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away; nothing to answer.
            Log.HandshakeAbandoned(_logger, Id, _clientEndPoint);
            return false;
        }
    }

    /// <summary>
    /// Sends a refusal on the client's plain or TLS stream, with a few seconds of its own (the handshake's time may be what
    /// ran out), so a client that stopped reading cannot hold the session.
    /// </summary>
    private async Task SendFatalAsync(PgHandshakeIO io, string sqlState, string message, CancellationToken ct)
    {
        using var send = CancellationTokenSource.CreateLinkedTokenSource(ct);
        send.CancelAfter(TimeSpan.FromSeconds(5));
        io.Stream = _clientStream;
        await io.TrySendFatalAsync(sqlState, message, send.Token).ConfigureAwait(false);
    }

    private async Task<bool> HandshakeCoreAsync(PgHandshakeIO io, CancellationToken ct)
    {
        // PostgreSQL 17 clients with sslnegotiation=direct start the TLS handshake at once (0x16 = handshake record).
        var peek = await _clientPipe.Pipe.Input.ReadAsync(ct).ConfigureAwait(false);
        if (peek.Buffer.IsEmpty)
        {
            _clientPipe.Pipe.Input.AdvanceTo(peek.Buffer.Start);
            return false;
        }

        byte first = peek.Buffer.FirstSpan[0];
        _clientPipe.Pipe.Input.AdvanceTo(peek.Buffer.Start); // a peek: nothing consumed, nothing examined
        if (first == 0x16)
        {
            if (!await StartClientTlsAsync(direct: true, ct).ConfigureAwait(false))
            {
                return false;
            }

            io.Stream = _clientStream;
        }

        PgStartupMessage startup;
        while (true)
        {
            int code = await io.ReadStartupPacketAsync(ct).ConfigureAwait(false);
            switch (code)
            {
                case PgStartupCode.SslRequest:
                    if (_clientTls is not null || io.Body.Length != 0)
                    {
                        ProtocolViolationException.Throw("SSLRequest is not valid here");
                    }

                    // CVE-2021-23214: bytes sent after SSLRequest and before the TLS handshake would
                    // be mistaken for data protected by TLS.
                    if (_clientPipe.HasPendingInput(_clientSocket))
                    {
                        ProtocolViolationException.Throw("received unencrypted data after SSL request");
                    }

                    if (_server.CertificateContext is null)
                    {
                        await io.WriteByteAsync((byte)'N', ct).ConfigureAwait(false);
                        continue;
                    }

                    await io.WriteByteAsync((byte)'S', ct).ConfigureAwait(false);
                    if (!await StartClientTlsAsync(direct: false, ct).ConfigureAwait(false))
                    {
                        return false;
                    }

                    io.Stream = _clientStream;
                    continue;

                case PgStartupCode.GssEncRequest:
                    if (io.Body.Length != 0)
                    {
                        ProtocolViolationException.Throw("GSSENCRequest is not valid here");
                    }

                    await io.WriteByteAsync((byte)'N', ct).ConfigureAwait(false);
                    continue;

                case PgStartupCode.CancelRequest:
                    if (io.Body.Length != 8)
                    {
                        ProtocolViolationException.Throw("invalid CancelRequest length");
                    }

                    await ForwardCancelAsync(
                        BinaryPrimitives.ReadInt32BigEndian(io.Body.Span),
                        BinaryPrimitives.ReadInt32BigEndian(io.Body.Span.Slice(4)),
                        ct).ConfigureAwait(false);
                    return false;
            }

            if (code >> 16 != 3)
            {
                throw new PgRefusal(PgSqlState.FeatureNotSupported, $"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}: Wire supports 3.0");
            }

            startup = PgStartupMessage.Parse(code, io.Body.Span);
            break;
        }

        if (Options.TlsRequired && _clientTls is null)
        {
            throw new PgRefusal(PgSqlState.InvalidAuthorizationSpecification, "TLS is required: connect with sslmode=require");
        }

        string? replication = startup["replication"];
        if (replication is not null && replication.ToLowerInvariant() is not ("false" or "off" or "no" or "0"))
        {
            throw new PgRefusal(PgSqlState.FeatureNotSupported, "replication connections are not supported through Wire");
        }

        // Newer minor versions and protocol extensions (_pq_.*) are declined; the session runs 3.0.
        List<string>? unsupported = null;
        foreach (var (name, _) in startup.Parameters)
        {
            if (name.StartsWith("_pq_.", StringComparison.Ordinal))
            {
                (unsupported ??= []).Add(name);
            }
        }

        if (startup.MinorVersion > 0 || unsupported is not null)
        {
            PgMessageWriter.WriteNegotiateProtocolVersion(io.Output, 0, (IReadOnlyList<string>?)unsupported ?? []);
        }

        string user = startup["user"] ?? "";
        if (user.Length == 0)
        {
            throw new PgRefusal(PgSqlState.InvalidAuthorizationSpecification, "no user name specified in the startup packet");
        }

        string database = startup["database"] is { Length: > 0 } db ? db : user;
        if (!_lease!.Admitted)
        {
            string why = _lease.Refuse();
            Log.OverLimit(_logger, Id, _clientEndPoint, why);
            throw new PgRefusal(PgSqlState.TooManyConnections, why);
        }

        if (_clientTls is null && !IsLoopback(_clientEndPoint.Address) && !Options.AllowCleartextWithoutTls)
        {
            throw new PgRefusal(PgSqlState.InvalidAuthorizationSpecification, "a token cannot be sent over a connection without TLS: connect with sslmode=require");
        }

        // The client's password is its token.
        PgMessageWriter.WriteAuthenticationRequest(io.Output, 3);
        await io.FlushAsync(ct).ConfigureAwait(false);
        byte type = await io.ReadMessageAsync(Math.Min(Options.Limits.MaxInspectedFrameBytes, 64 * 1024), ct).ConfigureAwait(false);
        if (type != (byte)'p')
        {
            ProtocolViolationException.Throw("expected a password message");
        }

        var body = io.Body.Span;
        int nul = body.IndexOf((byte)0);
        if (nul < 0 || nul != body.Length - 1)
        {
            ProtocolViolationException.Throw("invalid password message");
        }

        string tokenText;
        try
        {
            tokenText = PgText.Utf8Strict.GetString(body.Slice(0, nul));
        }
        catch (System.Text.DecoderFallbackException)
        {
            tokenText = "";
        }

        var result = await _server.IdentityValidator.ValidateAsync(tokenText, ct).ConfigureAwait(false);
        if (!result.Succeeded || !string.Equals(result.Identity!.Subject, user, StringComparison.Ordinal))
        {
            string why = result.Succeeded ? "user name names a different subject than the token" : result.FailureReason ?? "invalid token";
            Log.AuthenticationFailed(_logger, Id, user, _clientEndPoint, why);
            WireDiagnostics.AuthenticationFailures.Add(1, new KeyValuePair<string, object?>("network.protocol.name", "postgresql"));
            throw new PgRefusal(PgSqlState.InvalidPassword, $"authentication failed for user \"{user}\"");
        }

        _identity = result.Identity;
        if (!_lease.TryCountFor(_identity.Subject, out string? refusal))
        {
            Log.OverLimit(_logger, Id, _clientEndPoint, refusal);
            throw new PgRefusal(PgSqlState.TooManyConnections, refusal);
        }
        _target = _server.FindTarget(database)
            ?? throw new PgRefusal(PgSqlState.InvalidCatalogName, $"target \"{database}\" does not exist");
        if (_target.RequireGrant && _server.Enforcement?.Grants?.FindValid(_identity.Subject, _target.Name) is null)
        {
            throw new PgRefusal(PgSqlState.InvalidAuthorizationSpecification, GrantRegistry.NoGrantMessage(_target.Name));
        }

        try
        {
            _upstream = await PgUpstreamConnection.ConnectAsync(_target, startup.Parameters, user, Options.Limits, ct, near: _clientPipe,
                transport: _upstreamTransport)
                .ConfigureAwait(false);
        }
        catch (PgUpstreamException ex)
        {
            Log.UpstreamFailed(_logger, Id, _target.Name, ex.Detail, ex.InnerException);
            throw new PgRefusal(ex.SqlState, ex.Message);
        }

        if (_upstream.ServerParameters.TryGetValue("client_encoding", out var encoding) && Enforcement.PgEnforcer.IsUnsafeEncoding(encoding))
        {
            throw new PgRefusal(PgSqlState.FeatureNotSupported,
                $"client_encoding {encoding} is not supported through Wire (its characters can contain ASCII bytes); use UTF8");
        }

        (_wireProcessId, int wireSecret) = _server.CancelRegistry.Register(_upstream.RemoteEndPoint, _upstream.ProcessId, _upstream.SecretKey);

        // The client sees the server's parameters and notices, but Wire's own cancel key.
        PgMessageWriter.WriteAuthenticationRequest(io.Output, 0);
        var frames = _upstream.StartupFrames;
        frames.CopyTo(io.Output.GetSpan(frames.Length));
        io.Output.Advance(frames.Length);
        PgMessageWriter.WriteBackendKeyData(io.Output, _wireProcessId, wireSecret);
        PgMessageWriter.WriteReadyForQuery(io.Output, _upstream.TransactionStatus);
        await io.FlushAsync(ct).ConfigureAwait(false);

        Log.SessionStarted(_logger, Id, _identity.Subject, _target.Name, _clientEndPoint, _clientTls is not null, _upstream.IsTls);
        return true;
    }

    private async Task<bool> StartClientTlsAsync(bool direct, CancellationToken ct)
    {
        if (_server.CertificateContext is null)
        {
            // Direct TLS to a listener without a certificate: nothing sensible can be said in cleartext.
            Log.TlsFailed(_logger, Id, _clientEndPoint, "TLS requested but no certificate is configured");
            return false;
        }

        var ssl = new SslStream(_clientStream, leaveInnerStreamOpen: false);
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = _server.CertificateContext,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            ClientCertificateRequired = false,
            ApplicationProtocols = direct ? PostgresAlpn : null,
        };
        try
        {
            await ssl.AuthenticateAsServerAsync(options, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException)
        {
            // A TLS handshake cut short (or out of time) has no PostgreSQL channel to answer on: close.
            Log.TlsFailed(_logger, Id, _clientEndPoint, ex is OperationCanceledException ? "the TLS handshake did not finish in time" : ex.Message);
            await ssl.DisposeAsync().ConfigureAwait(false);
            return false;
        }

        if (direct && ssl.NegotiatedApplicationProtocol != PostgresAlpn[0])
        {
            // PostgreSQL requires ALPN "postgresql" on direct TLS, so a TLS client of another protocol is not mistaken for one.
            Log.TlsFailed(_logger, Id, _clientEndPoint, "direct TLS without ALPN \"postgresql\"");
            await ssl.DisposeAsync().ConfigureAwait(false);
            return false;
        }

        _clientTls = ssl;
        _clientStream = ssl;
        return true;
    }

    private async Task ForwardCancelAsync(int processId, int secretKey, CancellationToken ct)
    {
        if (await _server.CancelAsync(processId, secretKey, ct).ConfigureAwait(false))
        {
            return;
        }
        // Not a session of this listener: behind a load balancer it may be another gateway instance's.
        if (_server.CancelElsewhere is { } elsewhere)
        {
            await elsewhere(processId, secretKey, ct).ConfigureAwait(false);
            return;
        }
        Log.CancelUnknown(_logger, _clientEndPoint);
    }

    private static bool IsLoopback(IPAddress address)
        => IPAddress.IsLoopback(address) || (address.IsIPv4MappedToIPv6 && IPAddress.IsLoopback(address.MapToIPv4()));

    /// <summary>A refusal during startup: the SQLSTATE and message the client is told.</summary>
    private sealed class PgRefusal(string sqlState, string message) : Exception(message)
    {
        public string SqlState { get; } = sqlState;
    }
}
