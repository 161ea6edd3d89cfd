using Wire.Enforcement.Identity;
using Wire.Ssh.Keys;
using Wire.Ssh.Protocol;
using Wire.Ssh.Transport;

namespace Wire.Ssh.Authentication;

/// <summary>
/// The server role of user authentication (RFC 4252, RFC 4256): the <c>ssh-userauth</c> service request, then
/// requests until one succeeds: <c>publickey</c> (a query answered with PK_OK, then a signature over the session
/// identifier), <c>password</c> and <c>keyboard-interactive</c> (both carry a token). Too many failures end the
/// connection.
/// </summary>
internal sealed class SshUserAuthServer
{
    /// <summary>Methods offered after a failure.</summary>
    public static readonly string[] Methods = ["publickey", "keyboard-interactive", "password"];

    private const int MaxAttempts = 10;

    // OpenSSH's client refuses typed secrets longer than this; longer tokens must be sent as a key or through the
    // keyboard-interactive prompt of a client without that limit (docs/ssh.md).
    public const int OpenSshTypedSecretLimit = 1023;

    private readonly SshTransport _transport;
    private readonly ISshUserAuthenticator _authenticator;

    // The request was answered already (PK_OK to a key query): no failure follows it.
    private bool _answered;

    private readonly System.Net.IPAddress? _clientAddress;
    private readonly TimeProvider _time;
    private readonly Func<Result, string?>? _admit;

    /// <param name="transport">The client's transport, after key exchange.</param>
    /// <param name="authenticator">Who the client is.</param>
    /// <param name="clientAddress">The client's address, for certificates' source-address option.</param>
    /// <param name="time">The clock for certificate validity.</param>
    /// <param name="admit">
    /// The last check on an authenticated client (a target's grant): null admits it; otherwise the reason, which the
    /// client gets as a banner before the attempt fails (DESIGN.md §4: "no valid grant" is an authentication failure).
    /// </param>
    public SshUserAuthServer(SshTransport transport, ISshUserAuthenticator authenticator, System.Net.IPAddress? clientAddress = null,
        TimeProvider? time = null, Func<Result, string?>? admit = null)
    {
        _transport = transport;
        _authenticator = authenticator;
        _clientAddress = clientAddress;
        _time = time ?? TimeProvider.System;
        _admit = admit;
    }

    /// <summary>
    /// The outcome: who the client is, the user name it gave, how it proved it, and the command its certificate forces
    /// (run instead of whatever the client asks for).
    /// </summary>
    public sealed record Result(WireIdentity Identity, string UserName, string Method, string? ForceCommand = null);

    /// <summary>Runs the exchange until the client is authenticated; a client that gives up or fails too often throws.</summary>
    public async Task<Result> RunAsync(CancellationToken ct)
    {
        var request = await _transport.ReceiveAsync(ct).ConfigureAwait(false);
        string service = ReadServiceRequest(request.Span);
        if (service != "ssh-userauth")
        {
            SshProtocolException.Throw($"service {service} is not available before authentication", SshDisconnectReason.ServiceNotAvailable);
        }
        using (var accept = new SshWriter(64))
        {
            await _transport.SendAsync(accept.Byte(SshMessage.ServiceAccept).String("ssh-userauth").ToArray(), ct).ConfigureAwait(false);
        }

        for (int attempt = 0; attempt < MaxAttempts;)
        {
            var message = await _transport.ReceiveAsync(ct).ConfigureAwait(false);
            if (message.Span[0] != SshMessage.UserAuthRequest)
            {
                SshProtocolException.Throw($"message {message.Span[0]} before authentication");
            }
            var (outcome, counts) = await HandleRequestAsync(message, ct).ConfigureAwait(false);
            if (outcome is not null && _admit?.Invoke(outcome) is { } refusal)
            {
                using var banner = new SshWriter(128 + refusal.Length * 3);
                await _transport.SendAsync(banner.Byte(SshMessage.UserAuthBanner).String("wire: " + refusal + "\r\n").String("").ToArray(), ct)
                    .ConfigureAwait(false);
                (outcome, counts) = (null, true);
            }
            if (outcome is not null)
            {
                await _transport.SendAsync(new byte[] { SshMessage.UserAuthSuccess }, ct).ConfigureAwait(false);
                return outcome;
            }
            if (counts)
            {
                attempt++;
            }
            if (!_answered)
            {
                await SendFailureAsync(ct).ConfigureAwait(false);
            }
            _answered = false;
        }
        throw new SshProtocolException("too many authentication failures", SshDisconnectReason.NoMoreAuthMethodsAvailable);
    }

    private static string ReadServiceRequest(ReadOnlySpan<byte> payload)
    {
        var reader = new SshReader(payload);
        if (reader.ReadByte() != SshMessage.ServiceRequest)
        {
            SshProtocolException.Throw("the client did not request the user authentication service");
        }
        string service = reader.ReadAscii();
        reader.EnsureEnd();
        return service;
    }

    /// <summary>One USERAUTH_REQUEST: a result on success; otherwise whether it counts as a failed attempt.</summary>
    private async ValueTask<(Result? Outcome, bool Counts)> HandleRequestAsync(ReadOnlyMemory<byte> message, CancellationToken ct)
    {
        string user;
        string service;
        string method;
        int methodEnd;
        {
            var reader = new SshReader(message.Span);
            reader.ReadByte();
            user = reader.ReadUtf8();
            service = reader.ReadAscii();
            method = reader.ReadAscii();
            methodEnd = reader.Position;
        }
        if (service != "ssh-connection")
        {
            SshProtocolException.Throw($"service {service} is not available", SshDisconnectReason.ServiceNotAvailable);
        }
        if (user.Length == 0 || user.Length > 256 || user.Any(char.IsControl))
        {
            return (null, true);
        }
        switch (method)
        {
            case "none":
                return (null, false);
            case "publickey":
                return await PublicKeyAsync(message, methodEnd, user, service, ct).ConfigureAwait(false);
            case "password":
            {
                string token;
                {
                    var reader = new SshReader(message.Span[methodEnd..]);
                    if (reader.ReadBoolean())
                    {
                        // A password change request: there is no password to change.
                        return (null, true);
                    }
                    token = reader.ReadUtf8();
                    reader.EnsureEnd();
                }
                return (await TokenAsync(user, token, "password", ct).ConfigureAwait(false), true);
            }
            case "keyboard-interactive":
                return (await KeyboardInteractiveAsync(user, ct).ConfigureAwait(false), true);
            default:
                return (null, false);
        }
    }

    private async ValueTask<(Result?, bool)> PublicKeyAsync(ReadOnlyMemory<byte> message, int offset, string user, string service, CancellationToken ct)
    {
        bool signed;
        string algorithm;
        byte[] blob;
        byte[]? signature = null;
        {
            var reader = new SshReader(message.Span[offset..]);
            signed = reader.ReadBoolean();
            algorithm = reader.ReadAscii();
            blob = reader.ReadString().ToArray();
            if (signed)
            {
                signature = reader.ReadString().ToArray();
            }
            reader.EnsureEnd();
        }
        SshPublicKey key;
        SshCertificate? certificate = null;
        string signatureAlgorithm = algorithm;
        try
        {
            if (SshCertificate.IsCertificateAlgorithm(algorithm))
            {
                // An OpenSSH certificate: the certified key signs, with the algorithm the name carries before -cert-v01.
                certificate = SshCertificate.Parse(blob);
                signatureAlgorithm = SshCertificate.SignatureAlgorithmOf(algorithm);
                key = certificate.Key;
            }
            else
            {
                key = SshPublicKey.Parse(blob);
            }
        }
        catch (FormatException)
        {
            return (null, true);
        }
        // SHA-1 RSA (ssh-rsa as a signature algorithm) and algorithms that do not fit the key are refused.
        if (!key.SignatureAlgorithms.Contains(signatureAlgorithm))
        {
            return (null, true);
        }
        WireIdentity? identity;
        if (certificate is not null)
        {
            identity = certificate.RefusalForUser(_time.GetUtcNow(), _clientAddress) is null ? _authenticator.FindByCertificate(user, certificate) : null;
        }
        else
        {
            identity = _authenticator.FindByPublicKey(user, key);
        }
        if (identity is null)
        {
            return (null, true);
        }
        if (!signed)
        {
            using var ok = new SshWriter(blob.Length + 64);
            await _transport.SendAsync(ok.Byte(SshMessage.UserAuthPkOk).String(algorithm).String(blob).ToArray(), ct).ConfigureAwait(false);
            _answered = true;
            return (null, false);
        }

        // RFC 4252 §7: the signature covers the session identifier and the request up to the signature.
        using var signedData = new SshWriter(blob.Length + 256);
        signedData.String(_transport.SessionId).Byte(SshMessage.UserAuthRequest).String(user).String(service).String("publickey")
            .Boolean(true).String(algorithm).String(blob);
        if (!key.Verify(signatureAlgorithm, signedData.Written, signature!))
        {
            return (null, true);
        }
        return (new Result(identity, user, certificate is null ? "publickey" : "certificate", certificate?.ForceCommand), true);
    }

    private async ValueTask<Result?> KeyboardInteractiveAsync(string user, CancellationToken ct)
    {
        using (var prompt = new SshWriter(128))
        {
            prompt.Byte(SshMessage.UserAuthInfoRequest).String("Wire").String("Paste your access token.").String("")
                .UInt32(1).String("Token: ").Boolean(false);
            await _transport.SendAsync(prompt.ToArray(), ct).ConfigureAwait(false);
        }
        var response = await _transport.ReceiveAsync(ct).ConfigureAwait(false);
        string token;
        {
            var reader = new SshReader(response.Span);
            if (reader.ReadByte() != SshMessage.UserAuthInfoResponse)
            {
                SshProtocolException.Throw("expected SSH_MSG_USERAUTH_INFO_RESPONSE");
            }
            if (reader.ReadUInt32() != 1)
            {
                return null;
            }
            token = reader.ReadUtf8();
            reader.EnsureEnd();
        }
        return await TokenAsync(user, token, "keyboard-interactive", ct).ConfigureAwait(false);
    }

    private async ValueTask<Result?> TokenAsync(string user, string token, string method, CancellationToken ct)
    {
        token = token.Trim();
        if (token.Length == 0)
        {
            return null;
        }
        var result = await _authenticator.ValidateTokenAsync(user, token, ct).ConfigureAwait(false);
        return result.Identity is { } identity ? new Result(identity, user, method) : null;
    }

    private async ValueTask SendFailureAsync(CancellationToken ct)
    {
        using var failure = new SshWriter(96);
        await _transport.SendAsync(failure.Byte(SshMessage.UserAuthFailure).NameList(Methods).Boolean(false).ToArray(), ct).ConfigureAwait(false);
    }
}
