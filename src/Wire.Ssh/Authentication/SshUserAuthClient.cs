using Wire.Ssh.Keys;
using Wire.Ssh.Protocol;
using Wire.Ssh.Transport;

namespace Wire.Ssh.Authentication;

/// <summary>
/// The client role of user authentication (RFC 4252): Wire logs in to a target with the target's own credential, a
/// private key (signed request, RSA with rsa-sha2-512/256 as the server's ext-info allows) or a password. The client
/// of Wire never sees it.
/// </summary>
internal static class SshUserAuthClient
{
    /// <summary>Authenticates as <paramref name="userName"/>; throws <see cref="SshAuthenticationException"/> when the target refuses.</summary>
    public static async Task AuthenticateAsync(SshTransport transport, string userName, SshPrivateKey? key, string? password, CancellationToken ct)
    {
        if (key is null && password is null)
        {
            throw new ArgumentException("a key or a password is needed");
        }
        using (var request = new SshWriter(64))
        {
            await transport.SendAsync(request.Byte(SshMessage.ServiceRequest).String("ssh-userauth").ToArray(), ct).ConfigureAwait(false);
        }
        var accept = await ReceiveSkippingBannersAsync(transport, ct).ConfigureAwait(false);
        if (accept.Span[0] != SshMessage.ServiceAccept)
        {
            SshProtocolException.Throw("the target did not accept the user authentication service");
        }

        var refused = new List<string>();
        if (key is not null)
        {
            string algorithm = ChooseAlgorithm(key, transport.ServerSignatureAlgorithms);
            byte[] blob = key.PublicKey.Blob.ToArray();
            using var signed = new SshWriter(blob.Length + 256);
            signed.String(transport.SessionId).Byte(SshMessage.UserAuthRequest).String(userName).String("ssh-connection").String("publickey")
                .Boolean(true).String(algorithm).String(blob);
            byte[] signature = key.Sign(algorithm, signed.Written);
            using var request = new SshWriter(blob.Length + signature.Length + 128);
            request.Raw(signed.Written[(4 + transport.SessionId.Length)..]).String(signature);
            if (await TryAsync(transport, request.ToArray(), ct).ConfigureAwait(false))
            {
                return;
            }
            refused.Add($"publickey ({key.PublicKey.Fingerprint})");
        }
        if (password is not null)
        {
            using var request = new SshWriter(128);
            request.Byte(SshMessage.UserAuthRequest).String(userName).String("ssh-connection").String("password").Boolean(false).String(password);
            if (await TryAsync(transport, request.ToArray(), ct).ConfigureAwait(false))
            {
                return;
            }
            refused.Add("password");
        }
        throw new SshAuthenticationException($"the target refused {userName} by {string.Join(" and ", refused)}");
    }

    /// <summary>RSA keys sign with SHA-2 (RFC 8332): SHA-512 when the server says it accepts it, else SHA-256.</summary>
    private static string ChooseAlgorithm(SshPrivateKey key, IReadOnlyList<string>? accepted)
    {
        if (key.KeyType != SshPublicKey.Rsa)
        {
            return key.KeyType;
        }
        return accepted is not null && accepted.Contains(SshPublicKey.RsaSha512) ? SshPublicKey.RsaSha512 : SshPublicKey.RsaSha256;
    }

    private static async Task<bool> TryAsync(SshTransport transport, byte[] request, CancellationToken ct)
    {
        await transport.SendAsync(request, ct).ConfigureAwait(false);
        var answer = await ReceiveSkippingBannersAsync(transport, ct).ConfigureAwait(false);
        return answer.Span[0] switch
        {
            SshMessage.UserAuthSuccess => true,
            // FAILURE, or a password change request (60 after a password request): either way not logged in.
            SshMessage.UserAuthFailure or SshMessage.UserAuthPkOk => false,
            _ => throw new SshProtocolException($"message {answer.Span[0]} during user authentication"),
        };
    }

    private static async Task<ReadOnlyMemory<byte>> ReceiveSkippingBannersAsync(SshTransport transport, CancellationToken ct)
    {
        while (true)
        {
            var message = await transport.ReceiveAsync(ct).ConfigureAwait(false);
            if (message.Span[0] != SshMessage.UserAuthBanner)
            {
                return message;
            }
        }
    }
}

/// <summary>The target refused Wire's credential for it.</summary>
public sealed class SshAuthenticationException(string message) : Exception(message);
