using System.Security.Cryptography;
using System.Text;
using Wire.Postgres.Protocol;

namespace Wire.Postgres.Tests.Protocol;

public sealed class PgScramClientTests
{
    private const string Password = "pencil";

    [Fact]
    public void Test_server_reproduces_the_RFC_7677_vector()
    {
        // RFC 7677 §3: user "user", password "pencil".
        const string clientFirstBare = "n=user,r=rOprNGfwEbeRWgbNEkqO";
        const string serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        const string clientFinalWithoutProof = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        const string proof = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
        const string serverFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
        byte[] salt = Convert.FromBase64String("W22ZaJ0SNY7soEsUEjb6gQ==");

        string authMessage = clientFirstBare + "," + serverFirst + "," + clientFinalWithoutProof;
        Assert.Equal(proof, ScramTestServer.ClientProof(Password, salt, 4096, authMessage));

        var server = new ScramTestServer(Password, salt, 4096);
        server.ReceiveClientFirst("n,," + clientFirstBare, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
        Assert.Equal(serverFirst, server.ServerFirst);
        Assert.Equal(serverFinal, server.ReceiveClientFinal(clientFinalWithoutProof + ",p=" + proof));
    }

    [Fact]
    public void Client_first_message_has_no_binding_and_a_fresh_nonce()
    {
        var client = new PgScramClient(Password, serverCertificate: null, clientSupportsBinding: false);
        Assert.Equal("SCRAM-SHA-256", client.MechanismName);
        string first = Encoding.ASCII.GetString(client.CreateClientFirst());

        // gs2-header "n,," then client-first-message-bare "n=<user>,r=<nonce>"; PostgreSQL takes
        // the user from the startup packet, so the SCRAM user name is empty.
        Assert.StartsWith("n,,n=,r=", first, StringComparison.Ordinal);
        string nonce = first["n,,n=,r=".Length..];
        Assert.True(nonce.Length >= 16);
        Assert.DoesNotContain(',', nonce);
        Assert.All(nonce, c => Assert.InRange(c, (char)0x21, (char)0x7E));

        var other = new PgScramClient(Password, null, false);
        Assert.NotEqual(first, Encoding.ASCII.GetString(other.CreateClientFirst()));
    }

    [Theory]
    [InlineData(false, "n,,", "biws")]
    [InlineData(true, "y,,", "eSws")]
    public void Client_proof_verifies_and_server_signature_is_accepted(bool clientSupportsBinding, string gs2Header, string cbind)
    {
        var server = new ScramTestServer(Password, RandomNumberGenerator.GetBytes(16), 4096);
        var client = new PgScramClient(Password, null, clientSupportsBinding);

        string serverFirst = server.ReceiveClientFirst(Encoding.ASCII.GetString(client.CreateClientFirst()), "3rfcNHYJY1ZVvWVs7j");
        Assert.Equal(gs2Header, server.Gs2Header);

        string clientFinal = Encoding.ASCII.GetString(client.CreateClientFinal(Encoding.UTF8.GetBytes(serverFirst)));
        Assert.Equal(cbind, ScramTestServer.Attribute(clientFinal, 'c'));
        Assert.Equal(server.ClientNonce + "3rfcNHYJY1ZVvWVs7j", ScramTestServer.Attribute(clientFinal, 'r'));

        string? serverFinal = server.ReceiveClientFinal(clientFinal);
        Assert.NotNull(serverFinal);
        client.VerifyServerFinal(Encoding.UTF8.GetBytes(serverFinal));
    }

    [Fact]
    public void Proof_with_the_wrong_password_does_not_verify()
    {
        var server = new ScramTestServer(Password, RandomNumberGenerator.GetBytes(16), 4096);
        var client = new PgScramClient("not the password", null, false);
        string serverFirst = server.ReceiveClientFirst(Encoding.ASCII.GetString(client.CreateClientFirst()), "xyz");
        string clientFinal = Encoding.ASCII.GetString(client.CreateClientFinal(Encoding.UTF8.GetBytes(serverFirst)));
        Assert.Null(server.ReceiveClientFinal(clientFinal));
    }

    [Fact]
    public void Wrong_server_signature_is_rejected()
    {
        var (client, serverFinal) = Exchange();
        byte[] signature = Convert.FromBase64String(serverFinal[2..]);
        signature[0] ^= 0x01;

        var e = Assert.Throws<PgAuthenticationException>(
            () => client.VerifyServerFinal(Encoding.ASCII.GetBytes("v=" + Convert.ToBase64String(signature))));
        Assert.Contains("does not verify", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Server_signature_from_a_server_that_does_not_know_the_password_is_rejected()
    {
        // A man in the middle may skip checking the proof, but without the password it cannot
        // produce the ServerSignature the client expects.
        var impostor = new ScramTestServer("guessed", RandomNumberGenerator.GetBytes(16), 4096);
        var client = new PgScramClient(Password, null, false);
        string serverFirst = impostor.ReceiveClientFirst(Encoding.ASCII.GetString(client.CreateClientFirst()), "mitm");
        string clientFinal = Encoding.ASCII.GetString(client.CreateClientFinal(Encoding.UTF8.GetBytes(serverFirst)));
        Assert.False(impostor.VerifyProof(clientFinal));

        var e = Assert.Throws<PgAuthenticationException>(
            () => client.VerifyServerFinal(Encoding.ASCII.GetBytes(impostor.ServerFinal(clientFinal))));
        Assert.Contains("does not verify", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("e=invalid-proof")]
    [InlineData("")]
    [InlineData("x=abc")]
    [InlineData("v=not base64!")]
    [InlineData("v=")]
    public void Malformed_server_final_is_rejected(string serverFinal)
    {
        var (client, _) = Exchange();
        Assert.Throws<PgAuthenticationException>(() => client.VerifyServerFinal(Encoding.UTF8.GetBytes(serverFinal)));
    }

    [Fact]
    public void Server_final_before_client_final_is_rejected()
    {
        var client = new PgScramClient(Password, null, false);
        client.CreateClientFirst();
        Assert.Throws<PgAuthenticationException>(
            () => client.VerifyServerFinal(Encoding.ASCII.GetBytes("v=" + Convert.ToBase64String(new byte[32]))));
    }

    [Fact]
    public void Server_nonce_that_does_not_extend_the_client_nonce_is_rejected()
    {
        var client = new PgScramClient(Password, null, false);
        string clientNonce = Encoding.ASCII.GetString(client.CreateClientFirst())["n,,n=,r=".Length..];
        string salt = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));

        string[] nonces =
        [
            clientNonce,                       // not extended at all
            "x" + clientNonce + "abc",         // extended but not a prefix
            clientNonce[..^1] + "abc",         // client nonce altered
            "abc",
            "",
        ];
        foreach (var nonce in nonces)
        {
            var e = Assert.Throws<PgAuthenticationException>(
                () => client.CreateClientFinal(Encoding.UTF8.GetBytes($"r={nonce},s={salt},i=4096")));
            Assert.Contains("nonce", e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("")]
    [InlineData("many")]
    [InlineData("99999999999")]
    public void Invalid_iteration_count_is_rejected(string iterations)
    {
        var client = new PgScramClient(Password, null, false);
        string clientNonce = Encoding.ASCII.GetString(client.CreateClientFirst())["n,,n=,r=".Length..];
        string salt = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));

        var e = Assert.Throws<PgAuthenticationException>(
            () => client.CreateClientFinal(Encoding.UTF8.GetBytes($"r={clientNonce}abc,s={salt},i={iterations}")));
        Assert.Contains("iteration", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("s=c2FsdA==,i=4096")]
    [InlineData("r={0}abc,i=4096")]
    [InlineData("r={0}abc,s=c2FsdA==")]
    [InlineData("r={0}abc,s=not base64!,i=4096")]
    public void Malformed_server_first_is_rejected(string template)
    {
        var client = new PgScramClient(Password, null, false);
        string clientNonce = Encoding.ASCII.GetString(client.CreateClientFirst())["n,,n=,r=".Length..];
        string serverFirst = template.Replace("{0}", clientNonce, StringComparison.Ordinal);
        Assert.Throws<PgAuthenticationException>(() => client.CreateClientFinal(Encoding.UTF8.GetBytes(serverFirst)));
    }

    [Fact]
    public void Mandatory_extension_in_server_first_is_rejected()
    {
        // RFC 5802 §5.1: "m" is reserved; its presence MUST cause authentication failure.
        var client = new PgScramClient(Password, null, false);
        string clientNonce = Encoding.ASCII.GetString(client.CreateClientFirst())["n,,n=,r=".Length..];
        Assert.Throws<PgAuthenticationException>(
            () => client.CreateClientFinal(Encoding.UTF8.GetBytes($"m=future,r={clientNonce}abc,s=c2FsdA==,i=4096")));
    }

    private static (PgScramClient Client, string ServerFinal) Exchange()
    {
        var server = new ScramTestServer(Password, RandomNumberGenerator.GetBytes(16), 4096);
        var client = new PgScramClient(Password, null, false);
        string serverFirst = server.ReceiveClientFirst(Encoding.ASCII.GetString(client.CreateClientFirst()), "srv");
        string clientFinal = Encoding.ASCII.GetString(client.CreateClientFinal(Encoding.UTF8.GetBytes(serverFirst)));
        string? serverFinal = server.ReceiveClientFinal(clientFinal);
        Assert.NotNull(serverFinal);
        return (client, serverFinal);
    }
}
