using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Wire.Hosting.Configuration;
using Wire.Postgres.Proxy;
using static Wire.Gateway.Tests.Configuration.GatewayConfigTests;

namespace Wire.Gateway.Tests.Configuration;

public sealed class GatewayConfigTlsTests : IDisposable
{
    private const string Target = "{ 'name': 'db', 'host': 'localhost', 'username': 'u' }";

    private readonly TempConfigDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private GatewayConfig LoadTls(bool? required = null)
    {
        var requiredKey = required is { } r ? $", 'required': {(r ? "true" : "false")}" : string.Empty;
        var path = _dir.Write("gateway.json", Json($$"""
            { 'postgres': { 'tls': { 'certificate': 'tls/server.crt', 'key': 'tls/server.key'{{requiredKey}} }, 'targets': [ {{Target}} ] } }
            """));
        return GatewayConfig.Load(path, Env);
    }

    private void WriteRsaPair(string subject = "CN=wire-test")
    {
        using var rsa = RSA.Create(2048);
        using var certificate = SelfSigned(subject, new CertificateRequest(subject, rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        _dir.Write(Path.Combine("tls", "server.crt"), certificate.ExportCertificatePem());
        _dir.Write(Path.Combine("tls", "server.key"), rsa.ExportPkcs8PrivateKeyPem());
    }

    private static X509Certificate2 SelfSigned(string subject, CertificateRequest request)
    {
        var builder = new SubjectAlternativeNameBuilder();
        builder.AddDnsName(subject["CN=".Length..]);
        request.CertificateExtensions.Add(builder.Build());
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    [Fact]
    public void Rsa_pem_pair_loads_with_its_private_key()
    {
        WriteRsaPair();

        var pg = LoadTls(required: true).Postgres!;

        var certificate = Assert.IsType<X509Certificate2>(pg.ServerCertificate);
        Assert.True(certificate.HasPrivateKey);
        Assert.Equal("CN=wire-test", certificate.Subject);
        Assert.NotNull(certificate.GetRSAPrivateKey());
        Assert.True(pg.TlsRequired);
    }

    [Fact]
    public void Ecdsa_pem_pair_loads_and_tls_defaults_to_optional()
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var generated = SelfSigned("CN=wire-ec", new CertificateRequest("CN=wire-ec", ecdsa, HashAlgorithmName.SHA256));
        _dir.Write(Path.Combine("tls", "server.crt"), generated.ExportCertificatePem());
        _dir.Write(Path.Combine("tls", "server.key"), ecdsa.ExportECPrivateKeyPem());

        var pg = LoadTls().Postgres!;

        Assert.True(pg.ServerCertificate!.HasPrivateKey);
        Assert.NotNull(pg.ServerCertificate.GetECDsaPrivateKey());
        Assert.False(pg.TlsRequired);
    }

    [Fact]
    public async Task Loaded_certificate_serves_a_tls_handshake()
    {
        WriteRsaPair("CN=localhost");
        var certificate = LoadTls().Postgres!.ServerCertificate!;

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        using var accepted = await listener.AcceptTcpClientAsync();
        await using var serverStream = new SslStream(accepted.GetStream());
        await using var clientStream = new SslStream(client.GetStream(), false, (_, _, _, _) => true);

        await Task.WhenAll(
            serverStream.AuthenticateAsServerAsync(certificate),
            clientStream.AuthenticateAsClientAsync("localhost")).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(certificate.Thumbprint, clientStream.RemoteCertificate!.GetCertHashString());
    }

    [Fact]
    public void Key_that_does_not_match_the_certificate_is_named()
    {
        WriteRsaPair();
        using var other = RSA.Create(2048);
        var keyPath = _dir.Write(Path.Combine("tls", "server.key"), other.ExportPkcs8PrivateKeyPem());

        var e = Assert.Throws<ConfigException>(() => LoadTls());

        Assert.Equal($"postgres.tls.key: file {keyPath} holds no unencrypted PEM private key matching the certificate", e.Message);
    }

    [Fact]
    public void Encrypted_key_is_named()
    {
        using var rsa = RSA.Create(2048);
        using var certificate = SelfSigned("CN=x", new CertificateRequest("CN=x", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        _dir.Write(Path.Combine("tls", "server.crt"), certificate.ExportCertificatePem());
        var keyPath = _dir.Write(Path.Combine("tls", "server.key"), rsa.ExportEncryptedPkcs8PrivateKeyPem(
            "pass"u8, new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000)));

        var e = Assert.Throws<ConfigException>(() => LoadTls());

        Assert.Equal($"postgres.tls.key: file {keyPath} holds no unencrypted PEM private key matching the certificate", e.Message);
    }

    [Fact]
    public void Garbage_certificate_is_named()
    {
        WriteRsaPair();
        var certPath = _dir.Write(Path.Combine("tls", "server.crt"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");

        var e = Assert.Throws<ConfigException>(() => LoadTls());

        Assert.Equal($"postgres.tls.certificate: file {certPath} holds no valid PEM certificate", e.Message);
    }

    [Fact]
    public void Certificate_file_holding_only_a_key_is_named()
    {
        WriteRsaPair();
        var certPath = _dir.Write(Path.Combine("tls", "server.crt"), File.ReadAllText(Path.Combine(_dir.Path, "tls", "server.key")));

        var e = Assert.Throws<ConfigException>(() => LoadTls());

        Assert.Equal($"postgres.tls.certificate: file {certPath} holds no valid PEM certificate", e.Message);
    }

    [Fact]
    public void Ssl_root_cert_bundle_loads_for_verify_full()
    {
        using var rsa1 = RSA.Create(2048);
        using var rsa2 = RSA.Create(2048);
        using var ca1 = SelfSigned("CN=ca-one", new CertificateRequest("CN=ca-one", rsa1, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        using var ca2 = SelfSigned("CN=ca-two", new CertificateRequest("CN=ca-two", rsa2, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        _dir.Write(Path.Combine("pki", "ca.crt"), ca1.ExportCertificatePem() + "\n" + ca2.ExportCertificatePem() + "\n");
        var path = _dir.Write("gateway.json", Json("""
            { 'postgres': { 'targets': [ { 'name': 'db', 'host': 'db.internal', 'username': 'u', 'sslMode': 'verify-full', 'sslRootCert': 'pki/ca.crt' } ] } }
            """));

        var target = GatewayConfig.Load(path, Env).Postgres!.Targets[0];

        Assert.Equal(PgSslMode.VerifyFull, target.SslMode);
        Assert.Equal(["CN=ca-one", "CN=ca-two"], target.SslRootCertificates.Select(c => c.Subject));
    }

    [Fact]
    public void Malformed_root_cert_bundle_is_named()
    {
        var caPath = _dir.Write("ca.crt", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");

        var e = Assert.Throws<ConfigException>(() => GatewayConfig.Parse(Json("""
            { 'postgres': { 'targets': [ { 'name': 'db', 'host': 'h', 'username': 'u', 'sslMode': 'verify-full', 'sslRootCert': 'ca.crt' } ] } }
            """), _dir.Path, Env));

        Assert.Equal($"postgres.targets[0].sslRootCert: file {caPath} is not a valid PEM certificate bundle", e.Message);
    }
}
