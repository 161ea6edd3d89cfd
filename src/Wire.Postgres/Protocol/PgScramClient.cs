using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Wire.Postgres.Protocol;

/// <summary>
/// The client side of SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802, RFC 7677; channel binding
/// <c>tls-server-end-point</c>, RFC 5929), as PostgreSQL runs it inside SASL messages.
/// One instance per authentication exchange.
/// </summary>
/// <remarks>https://www.postgresql.org/docs/current/sasl-authentication.html</remarks>
internal sealed class PgScramClient
{
    public const string Mechanism = "SCRAM-SHA-256";
    public const string MechanismPlus = "SCRAM-SHA-256-PLUS";

    private readonly string _password;
    private readonly string _clientNonce;
    private readonly string _gs2Header;
    private readonly byte[] _channelBinding;
    private string? _clientFirstBare;
    private byte[]? _serverSignature;

    /// <param name="password">The role's password.</param>
    /// <param name="serverCertificate">The server's TLS certificate when channel binding is used, else null.</param>
    /// <param name="clientSupportsBinding">
    /// True when the connection is TLS but the server did not offer -PLUS: the "y" flag tells the
    /// server that binding was possible, so a downgrade by a man in the middle is detected.
    /// </param>
    public PgScramClient(string password, X509Certificate2? serverCertificate, bool clientSupportsBinding)
    {
        _password = password;
        _clientNonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
        if (serverCertificate is not null)
        {
            _gs2Header = "p=tls-server-end-point,,";
            _channelBinding = TlsServerEndPoint(serverCertificate);
        }
        else
        {
            _gs2Header = clientSupportsBinding ? "y,," : "n,,";
            _channelBinding = [];
        }
    }

    /// <summary>The mechanism this exchange uses.</summary>
    public string MechanismName => _channelBinding.Length > 0 ? MechanismPlus : Mechanism;

    /// <summary>client-first-message.</summary>
    public byte[] CreateClientFirst()
    {
        // PostgreSQL ignores the SCRAM user name and takes the startup packet's.
        _clientFirstBare = "n=,r=" + _clientNonce;
        return Encoding.ASCII.GetBytes(_gs2Header + _clientFirstBare);
    }

    /// <summary>client-final-message from server-first-message; throws <see cref="PgAuthenticationException"/> on a bad server message.</summary>
    public byte[] CreateClientFinal(ReadOnlySpan<byte> serverFirstBytes)
    {
        string serverFirst = Encoding.UTF8.GetString(serverFirstBytes);

        // RFC 5802 §5.1: server-first is "[m=ext,]r=...,s=...,i=..."; a mandatory extension (m) is
        // one this client cannot honour, so authentication must fail.
        if (!serverFirst.StartsWith("r=", StringComparison.Ordinal))
        {
            throw new PgAuthenticationException(serverFirst.StartsWith("m=", StringComparison.Ordinal)
                ? "SCRAM server requires an unsupported mandatory extension"
                : "malformed SCRAM server-first-message");
        }

        string? nonce = null, salt = null, iterations = null;
        foreach (var part in serverFirst.Split(','))
        {
            if (part.StartsWith("r=", StringComparison.Ordinal))
            {
                nonce = part[2..];
            }
            else if (part.StartsWith("s=", StringComparison.Ordinal))
            {
                salt = part[2..];
            }
            else if (part.StartsWith("i=", StringComparison.Ordinal))
            {
                iterations = part[2..];
            }
        }

        if (nonce is null || salt is null || iterations is null || _clientFirstBare is null)
        {
            throw new PgAuthenticationException("malformed SCRAM server-first-message");
        }

        if (!nonce.StartsWith(_clientNonce, StringComparison.Ordinal) || nonce.Length == _clientNonce.Length)
        {
            throw new PgAuthenticationException("SCRAM server nonce does not extend the client nonce");
        }

        if (!int.TryParse(iterations, out int iterationCount) || iterationCount < 1 || iterationCount > 10_000_000)
        {
            throw new PgAuthenticationException("SCRAM iteration count is invalid");
        }

        byte[] saltBytes;
        try
        {
            saltBytes = Convert.FromBase64String(salt);
        }
        catch (FormatException)
        {
            throw new PgAuthenticationException("SCRAM salt is not base64");
        }

        byte[] cbind = new byte[Encoding.ASCII.GetByteCount(_gs2Header) + _channelBinding.Length];
        int n = Encoding.ASCII.GetBytes(_gs2Header, cbind);
        _channelBinding.CopyTo(cbind, n);
        string clientFinalWithoutProof = "c=" + Convert.ToBase64String(cbind) + ",r=" + nonce;
        string authMessage = _clientFirstBare + "," + serverFirst + "," + clientFinalWithoutProof;
        byte[] authBytes = Encoding.UTF8.GetBytes(authMessage);

        byte[] salted = PgScramKeyCache.SaltedPassword(_password, saltBytes, iterationCount);
        byte[] clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
        byte[] storedKey = SHA256.HashData(clientKey);
        byte[] clientSignature = HMACSHA256.HashData(storedKey, authBytes);
        byte[] proof = new byte[clientKey.Length];
        for (int i = 0; i < proof.Length; i++)
        {
            proof[i] = (byte)(clientKey[i] ^ clientSignature[i]);
        }

        byte[] serverKey = HMACSHA256.HashData(salted, "Server Key"u8);
        _serverSignature = HMACSHA256.HashData(serverKey, authBytes);
        return Encoding.ASCII.GetBytes(clientFinalWithoutProof + ",p=" + Convert.ToBase64String(proof));
    }

    /// <summary>Checks server-final-message: the server must prove it knows the password too.</summary>
    public void VerifyServerFinal(ReadOnlySpan<byte> serverFinalBytes)
    {
        string serverFinal = Encoding.UTF8.GetString(serverFinalBytes);
        if (serverFinal.StartsWith("e=", StringComparison.Ordinal))
        {
            throw new PgAuthenticationException("SCRAM server reported an error: " + serverFinal[2..]);
        }

        if (!serverFinal.StartsWith("v=", StringComparison.Ordinal) || _serverSignature is null)
        {
            throw new PgAuthenticationException("malformed SCRAM server-final-message");
        }

        byte[] signature;
        try
        {
            signature = Convert.FromBase64String(serverFinal[2..].Split(',')[0]);
        }
        catch (FormatException)
        {
            throw new PgAuthenticationException("SCRAM server signature is not base64");
        }

        if (!CryptographicOperations.FixedTimeEquals(signature, _serverSignature))
        {
            throw new PgAuthenticationException("SCRAM server signature does not verify: the server does not know the password");
        }
    }

    /// <summary>
    /// tls-server-end-point channel binding data: the hash of the server certificate, with the
    /// certificate's signature hash, where MD5 and SHA-1 are replaced by SHA-256 (RFC 5929 §4.1).
    /// </summary>
    internal static byte[] TlsServerEndPoint(X509Certificate2 certificate)
    {
        byte[] der = certificate.RawData;
        return certificate.SignatureAlgorithm.Value switch
        {
            "1.2.840.113549.1.1.12" or "1.2.840.10045.4.3.3" => SHA384.HashData(der), // sha384RSA, ecdsa-with-SHA384
            "1.2.840.113549.1.1.13" or "1.2.840.10045.4.3.4" => SHA512.HashData(der), // sha512RSA, ecdsa-with-SHA512
            _ => SHA256.HashData(der),
        };
    }
}

/// <summary>Authentication toward a target failed (wrong credential, unsupported method, bad server proof).</summary>
internal sealed class PgAuthenticationException(string message) : Exception(message);
