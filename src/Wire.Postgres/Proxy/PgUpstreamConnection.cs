using System.IO.Pipelines;
using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Wire.Enforcement;
using Wire.Enforcement.Transport;
using Wire.Postgres.Protocol;

namespace Wire.Postgres.Proxy;

/// <summary>
/// Wire's own connection to a target: TCP, TLS per <see cref="PgSslMode"/>, and the login with the
/// credential Wire holds (SCRAM-SHA-256[-PLUS], MD5 or cleartext, as the server asks).
/// </summary>
internal sealed class PgUpstreamConnection : IDisposable
{
    private PgUpstreamConnection(WirePipe pipe, Stream stream, bool tls, IPEndPoint remote)
    {
        Pipe = pipe;
        Stream = stream;
        IsTls = tls;
        RemoteEndPoint = remote;
    }

    /// <summary>The socket as a pipe (what a plain session relays on).</summary>
    public WirePipe Pipe { get; }

    /// <summary>The pipe as a stream, or the SslStream over it.</summary>
    public Stream Stream { get; }

    public bool IsTls { get; }

    public IPEndPoint RemoteEndPoint { get; }

    public int ProcessId { get; private set; }

    public int SecretKey { get; private set; }

    public byte TransactionStatus { get; private set; } = (byte)'I';

    /// <summary>The server's parameters as reported at login (ParameterStatus), for example <c>standard_conforming_strings</c>.</summary>
    public Dictionary<string, string> ServerParameters { get; } = new(StringComparer.Ordinal);

    /// <summary>The ParameterStatus and NoticeResponse frames of the login, verbatim, in order, to pass on to the client.</summary>
    public byte[] StartupFrames { get; private set; } = [];

    /// <summary>Connects and logs in. Throws <see cref="PgUpstreamException"/> with what the client may be told.</summary>
    public static async Task<PgUpstreamConnection> ConnectAsync(
        PgTargetOptions target,
        IEnumerable<KeyValuePair<string, string>> clientParameters,
        string clientUser,
        PgLimits limits,
        CancellationToken ct,
        WirePipe? near = null,
        IDuplexPipe? transport = null)
    {
        Socket? socket = null;
        IPEndPoint remote;
        WirePipe pipe;
        if (transport is not null)
        {
            // The host brought the connection to the server. Cancel requests still go to the target's address, when it is one.
            remote = new IPEndPoint(IPAddress.TryParse(target.Host, out var address) ? address : IPAddress.None, target.Port);
            pipe = WirePipes.FromPipe(transport);
        }
        else
        {
            try
            {
                (socket, remote) = await WireConnector.ConnectAsync(target.Host, target.Port, limits.ConnectTimeout, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                throw new PgUpstreamException(
                    $"could not connect to target \"{target.Name}\": the server is unreachable",
                    $"connect to {target.Host}:{target.Port} failed: {ex.Message}",
                    ex);
            }
            pipe = WirePipes.FromSocket(socket, "pg-upstream", near: near, bufferBytes: limits.BufferBytes);
        }
        Stream stream = pipe.AsStream();
        bool tls = false;

        // A server that accepts and then says nothing (hung, overloaded) has connectTimeout again for TLS and the login,
        // so that the client is refused with 08006 while its own handshake still has time to be told.
        using var login = CancellationTokenSource.CreateLinkedTokenSource(ct);
        login.CancelAfter(limits.ConnectTimeout);
        var loginCt = login.Token;
        try
        {
            if (target.SslMode != PgSslMode.Disable)
            {
                using var io = PgHandshakeIO.Rent(stream);
                PgMessageWriter.WriteRequestPacket(io.Output, PgStartupCode.SslRequest);
                await io.FlushAsync(loginCt).ConfigureAwait(false);
                byte[] answer = new byte[1];
                await stream.ReadExactlyAsync(answer, loginCt).ConfigureAwait(false);
                if (answer[0] == (byte)'S')
                {
                    // CVE-2021-23222: anything the server sent after 'S' and before the handshake
                    // would be read as if it were protected by TLS.
                    if (pipe.HasPendingInput(socket))
                    {
                        throw new PgUpstreamException(
                            $"could not connect to target \"{target.Name}\": the server broke the TLS negotiation",
                            "server sent unencrypted bytes after accepting SSLRequest",
                            null, PgSqlState.ProtocolViolation);
                    }

                    var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                    await ssl.AuthenticateAsClientAsync(ClientTlsOptions(target), loginCt).ConfigureAwait(false);
                    stream = ssl;
                    tls = true;
                }
                else if (answer[0] == (byte)'N')
                {
                    if (target.SslMode is PgSslMode.Require or PgSslMode.VerifyFull)
                    {
                        throw new PgUpstreamException(
                            $"could not connect to target \"{target.Name}\": TLS is required but the server does not support it",
                            "server refused SSLRequest");
                    }
                }
                else
                {
                    throw new PgUpstreamException(
                        $"could not connect to target \"{target.Name}\": unexpected answer to TLS negotiation",
                        $"server answered SSLRequest with byte 0x{answer[0]:x2}");
                }
            }

            var connection = new PgUpstreamConnection(pipe, stream, tls, remote);
            await connection.LoginAsync(target, clientParameters, clientUser, limits, loginCt).ConfigureAwait(false);
            return connection;
        }
        catch (OperationCanceledException) when (login.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            stream.Dispose();
            pipe.Dispose();
            throw new PgUpstreamException(
                $"could not connect to target \"{target.Name}\": the server did not answer within {limits.ConnectTimeout:c}",
                $"{target.Host}:{target.Port} accepted the connection but did not complete TLS and the login within connectTimeout");
        }
        catch (Exception ex) when (ex is not PgUpstreamException && !ct.IsCancellationRequested)
        {
            stream.Dispose();
            pipe.Dispose();
            string message = ex is AuthenticationException
                ? $"could not connect to target \"{target.Name}\": the server's TLS certificate was not accepted"
                : $"could not connect to target \"{target.Name}\"";
            throw new PgUpstreamException(message, ex.Message, ex);
        }
        catch
        {
            stream.Dispose();
            pipe.Dispose();
            throw;
        }
    }

    private static SslClientAuthenticationOptions ClientTlsOptions(PgTargetOptions target)
    {
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = target.Host,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        if (target.SslMode != PgSslMode.VerifyFull)
        {
            // prefer/require: encryption without authentication of the server, as libpq does.
            options.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        }
        else if (target.SslRootCertificates.Count > 0)
        {
            var policy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = X509RevocationMode.NoCheck,
            };
            policy.CustomTrustStore.AddRange(target.SslRootCertificates);
            options.CertificateChainPolicy = policy;
        }

        return options;
    }

    private async Task LoginAsync(
        PgTargetOptions target,
        IEnumerable<KeyValuePair<string, string>> clientParameters,
        string clientUser,
        PgLimits limits,
        CancellationToken ct)
    {
        using var io = PgHandshakeIO.Rent(Stream);
        var parameters = new List<KeyValuePair<string, string>>
        {
            new("user", target.Username),
            new("database", target.Database ?? target.Name),
        };
        foreach (var (name, value) in clientParameters)
        {
            if (name is not ("user" or "database" or "replication") && !name.StartsWith("_pq_.", StringComparison.Ordinal))
            {
                parameters.Add(new(name, value));
            }
        }

        PgMessageWriter.WriteStartupMessage(io.Output, parameters);
        await io.FlushAsync(ct).ConfigureAwait(false);

        PgScramClient? scram = null;
        var passOn = new MemoryStream();
        int maxLength = limits.MaxInspectedFrameBytes;
        while (true)
        {
            byte type = await io.ReadMessageAsync(maxLength, ct).ConfigureAwait(false);
            ReadOnlyMemory<byte> body = io.Body;
            switch (type)
            {
                case (byte)'R':
                    scram = await AnswerAuthenticationAsync(io, target, body, scram, ct).ConfigureAwait(false);
                    break;
                case (byte)'S' when IsSessionAuthorization(body.Span):
                    // The client knows itself by its subject; the role Wire logs in as is not its business.
                    var status = new System.Buffers.ArrayBufferWriter<byte>();
                    PgMessageWriter.WriteParameterStatus(status, "session_authorization", clientUser);
                    passOn.Write(status.WrittenSpan);
                    break;
                case (byte)'S':
                    RememberParameter(body.Span);
                    goto case (byte)'N';
                case (byte)'N':
                    passOn.WriteByte(type);
                    passOn.Write(LengthPrefix(body.Length + 4));
                    passOn.Write(body.Span);
                    break;
                case (byte)'K':
                    if (body.Length != 8)
                    {
                        ProtocolViolationException.Throw("invalid BackendKeyData");
                    }

                    ProcessId = BinaryPrimitives.ReadInt32BigEndian(body.Span);
                    SecretKey = BinaryPrimitives.ReadInt32BigEndian(body.Span.Slice(4));
                    break;
                case (byte)'v':
                    // NegotiateProtocolVersion: Wire asks for plain 3.0, nothing to downgrade.
                    break;
                case (byte)'E':
                    var error = PgErrorFields.Parse(body.Span);
                    throw new PgUpstreamException(
                        error.SqlState is "53300" or "57P03"
                            ? $"target \"{target.Name}\" is not accepting connections: {error.Message}"
                            : $"could not log in to target \"{target.Name}\"",
                        $"server refused login: {error.SqlState} {error.Message}",
                        null,
                        error.SqlState is "53300" or "57P03" ? error.SqlState : PgSqlState.ConnectionFailure);
                case (byte)'Z':
                    if (body.Length != 1)
                    {
                        ProtocolViolationException.Throw("invalid ReadyForQuery");
                    }

                    TransactionStatus = body.Span[0];
                    StartupFrames = passOn.ToArray();
                    return;
                default:
                    ProtocolViolationException.Throw("unexpected message during login");
                    break;
            }
        }
    }

    private void RememberParameter(ReadOnlySpan<byte> body)
    {
        int nameEnd = body.IndexOf((byte)0);
        if (nameEnd <= 0)
        {
            return;
        }
        var rest = body[(nameEnd + 1)..];
        int valueEnd = rest.IndexOf((byte)0);
        if (valueEnd >= 0)
        {
            ServerParameters[System.Text.Encoding.UTF8.GetString(body[..nameEnd])] = System.Text.Encoding.UTF8.GetString(rest[..valueEnd]);
        }
    }

    private async ValueTask<PgScramClient?> AnswerAuthenticationAsync(
        PgHandshakeIO io, PgTargetOptions target, ReadOnlyMemory<byte> body, PgScramClient? scram, CancellationToken ct)
    {
        if (body.Length < 4)
        {
            ProtocolViolationException.Throw("invalid authentication message");
        }

        int code = BinaryPrimitives.ReadInt32BigEndian(body.Span);
        var data = body.Slice(4);
        switch (code)
        {
            case 0: // AuthenticationOk
                return scram;
            case 3: // cleartext password
                PgMessageWriter.WritePasswordMessage(io.Output, RequirePassword(target));
                await io.FlushAsync(ct).ConfigureAwait(false);
                return scram;
            case 5: // MD5 with a 4-byte salt
                if (data.Length != 4)
                {
                    ProtocolViolationException.Throw("invalid MD5 salt");
                }

                PgMessageWriter.WritePasswordMessage(io.Output, PgMd5Password.Compute(target.Username, RequirePassword(target), data.Span));
                await io.FlushAsync(ct).ConfigureAwait(false);
                return scram;
            case 10: // SASL: list of mechanisms
                var mechanisms = ReadMechanisms(data.Span);
                X509Certificate2? certificate = null;
                if (IsTls && Stream is SslStream ssl && mechanisms.Contains(PgScramClient.MechanismPlus) && ssl.RemoteCertificate is { } remoteCertificate)
                {
                    certificate = remoteCertificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(remoteCertificate.GetRawCertData());
                }
                else if (!mechanisms.Contains(PgScramClient.Mechanism))
                {
                    throw new PgAuthenticationException("the server offers no SASL mechanism Wire supports");
                }

                scram = new PgScramClient(RequirePassword(target), certificate, clientSupportsBinding: IsTls);
                PgMessageWriter.WriteSaslInitialResponse(io.Output, scram.MechanismName, scram.CreateClientFirst());
                await io.FlushAsync(ct).ConfigureAwait(false);
                return scram;
            case 11: // SASLContinue
                if (scram is null)
                {
                    ProtocolViolationException.Throw("SASLContinue without SASL");
                }

                PgMessageWriter.WriteSaslResponse(io.Output, scram.CreateClientFinal(data.Span));
                await io.FlushAsync(ct).ConfigureAwait(false);
                return scram;
            case 12: // SASLFinal
                if (scram is null)
                {
                    ProtocolViolationException.Throw("SASLFinal without SASL");
                }

                scram.VerifyServerFinal(data.Span);
                return scram;
            default:
                throw new PgAuthenticationException($"the server asks for authentication method {code}, which Wire does not support");
        }
    }

    private static bool IsSessionAuthorization(ReadOnlySpan<byte> parameterStatus)
        => parameterStatus.StartsWith("session_authorization\0"u8);

    private static byte[] LengthPrefix(int length)
    {
        byte[] prefix = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(prefix, length);
        return prefix;
    }

    private static string RequirePassword(PgTargetOptions target)
        => target.Password ?? throw new PgAuthenticationException("the server asks for a password but the target has none configured");

    private static List<string> ReadMechanisms(ReadOnlySpan<byte> data)
    {
        var list = new List<string>();
        while (!data.IsEmpty && data[0] != 0)
        {
            int end = data.IndexOf((byte)0);
            if (end < 0)
            {
                ProtocolViolationException.Throw("invalid SASL mechanism list");
            }

            list.Add(Encoding.UTF8.GetString(data.Slice(0, end)));
            data = data.Slice(end + 1);
        }

        return list;
    }

    public void Dispose()
    {
        Stream.Dispose();
        Pipe.Dispose();
    }
}

/// <summary>Wire could not connect or log in to a target. <see cref="Exception.Message"/> is safe for the client; <see cref="Detail"/> is for the log.</summary>
internal sealed class PgUpstreamException(string message, string detail, Exception? inner = null, string sqlState = PgSqlState.ConnectionFailure)
    : Exception(message, inner)
{
    public string Detail { get; } = detail;

    public string SqlState { get; } = sqlState;
}
