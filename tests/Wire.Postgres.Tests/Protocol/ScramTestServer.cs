using System.Security.Cryptography;
using System.Text;

namespace Wire.Postgres.Tests.Protocol;

/// <summary>
/// The server's half of SCRAM-SHA-256 written straight from RFC 5802 §3 (and checked against the
/// RFC 7677 test vector), so the client is verified by an implementation that is not its own.
/// </summary>
internal sealed class ScramTestServer
{
    private readonly byte[] _storedKey;
    private readonly byte[] _serverKey;

    public ScramTestServer(string password, byte[] salt, int iterations)
    {
        Salt = salt;
        Iterations = iterations;

        // SaltedPassword := Hi(Normalize(password), salt, i); Hi is PBKDF2 with HMAC as the PRF.
        byte[] saltedPassword = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        byte[] clientKey = HMACSHA256.HashData(saltedPassword, Encoding.ASCII.GetBytes("Client Key"));
        _storedKey = SHA256.HashData(clientKey);
        _serverKey = HMACSHA256.HashData(saltedPassword, Encoding.ASCII.GetBytes("Server Key"));
    }

    public byte[] Salt { get; }

    public int Iterations { get; }

    /// <summary>client-first-message-bare, as the server extracted it.</summary>
    public string? ClientFirstBare { get; private set; }

    public string? ClientNonce { get; private set; }

    public string? ServerFirst { get; private set; }

    /// <summary>The gs2 header (channel-binding flag) the client sent.</summary>
    public string? Gs2Header { get; private set; }

    /// <summary>Reads client-first-message and answers with server-first-message.</summary>
    public string ReceiveClientFirst(string clientFirst, string serverNoncePart)
    {
        // gs2-header is "n,," / "y,," / "p=<cb>,," : flag, authzid, then the bare message.
        int second = clientFirst.IndexOf(',', clientFirst.IndexOf(',') + 1);
        Gs2Header = clientFirst[..(second + 1)];
        ClientFirstBare = clientFirst[(second + 1)..];
        ClientNonce = Attribute(ClientFirstBare, 'r');
        ServerFirst = $"r={ClientNonce}{serverNoncePart},s={Convert.ToBase64String(Salt)},i={Iterations}";
        return ServerFirst;
    }

    /// <summary>
    /// Checks client-final-message: the proof must recover a ClientKey whose hash is StoredKey.
    /// Returns server-final-message ("v=" + ServerSignature) when it verifies, else null.
    /// </summary>
    public string? ReceiveClientFinal(string clientFinal)
        => VerifyProof(clientFinal) ? ServerFinal(clientFinal) : null;

    /// <summary>Whether the proof in client-final-message shows knowledge of the password.</summary>
    public bool VerifyProof(string clientFinal)
    {
        int proofAt = clientFinal.LastIndexOf(",p=", StringComparison.Ordinal);
        byte[] proof = Convert.FromBase64String(clientFinal[(proofAt + 3)..]);
        byte[] clientSignature = HMACSHA256.HashData(_storedKey, AuthMessage(clientFinal));
        if (proof.Length != clientSignature.Length)
        {
            return false;
        }

        // ClientKey := ClientProof XOR ClientSignature; the server keeps only H(ClientKey).
        byte[] clientKey = new byte[clientSignature.Length];
        for (int i = 0; i < clientKey.Length; i++)
        {
            clientKey[i] = (byte)(proof[i] ^ clientSignature[i]);
        }

        return SHA256.HashData(clientKey).AsSpan().SequenceEqual(_storedKey);
    }

    /// <summary>server-final-message computed from this server's keys, whether or not the proof verified.</summary>
    public string ServerFinal(string clientFinal)
        => "v=" + Convert.ToBase64String(HMACSHA256.HashData(_serverKey, AuthMessage(clientFinal)));

    private byte[] AuthMessage(string clientFinal)
    {
        string withoutProof = clientFinal[..clientFinal.LastIndexOf(",p=", StringComparison.Ordinal)];
        return Encoding.UTF8.GetBytes(ClientFirstBare + "," + ServerFirst + "," + withoutProof);
    }

    /// <summary>The client's proof for an AuthMessage, as RFC 5802 defines it (for the RFC test vector).</summary>
    public static string ClientProof(string password, byte[] salt, int iterations, string authMessage)
    {
        byte[] saltedPassword = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        byte[] clientKey = HMACSHA256.HashData(saltedPassword, Encoding.ASCII.GetBytes("Client Key"));
        byte[] clientSignature = HMACSHA256.HashData(SHA256.HashData(clientKey), Encoding.UTF8.GetBytes(authMessage));
        byte[] proof = new byte[clientKey.Length];
        for (int i = 0; i < proof.Length; i++)
        {
            proof[i] = (byte)(clientKey[i] ^ clientSignature[i]);
        }

        return Convert.ToBase64String(proof);
    }

    /// <summary>The value of attribute <paramref name="name"/> in a comma-separated SCRAM message.</summary>
    public static string? Attribute(string message, char name)
    {
        foreach (var part in message.Split(','))
        {
            if (part.Length >= 2 && part[0] == name && part[1] == '=')
            {
                return part[2..];
            }
        }

        return null;
    }
}
