using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Wire.Testing;

/// <summary>
/// An in-memory test certificate authority (ECDSA P-256, self-signed) that issues server and client certificates.
/// <see cref="Shared"/> is the CA the test servers trust; <see cref="Other"/> is an unrelated CA for
/// "verification must fail" tests.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private static readonly Lazy<TestCertificates> SharedAuthority = new(() => CreateAuthority("Wire Test CA"));
    private static readonly Lazy<TestCertificates> OtherAuthority = new(() => CreateAuthority("Wire Other Test CA"));

    private readonly ECDsa _key;

    private TestCertificates(string name, ECDsa key, X509Certificate2 certificate)
    {
        Name = name;
        _key = key;
        Certificate = certificate;
        CertificatePem = certificate.ExportCertificatePem();
    }

    /// <summary>The process-wide test CA.</summary>
    public static TestCertificates Shared => SharedAuthority.Value;

    /// <summary>A second, unrelated CA: certificates it issues must fail verification against <see cref="Shared"/>.</summary>
    public static TestCertificates Other => OtherAuthority.Value;

    /// <summary>The CA's common name.</summary>
    public string Name { get; }

    /// <summary>The CA certificate (public part only; use it as a trust anchor).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The CA certificate as PEM.</summary>
    public string CertificatePem { get; }

    /// <summary>Creates a new self-signed CA.</summary>
    public static TestCertificates CreateAuthority(string commonName)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={commonName}, O=Wire Tests"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true,
            hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));

        var now = DateTimeOffset.UtcNow;
        using var withKey = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(5));
        var publicOnly = X509CertificateLoader.LoadCertificate(withKey.RawData);
        return new TestCertificates(commonName, key, publicOnly);
    }

    /// <summary>
    /// Issues a server certificate (ServerAuth) with SANs; by default for DNS <c>localhost</c> and IP 127.0.0.1.
    /// </summary>
    public IssuedCertificate IssueServerCertificate(
        string commonName = "localhost", IEnumerable<string>? dnsNames = null, IEnumerable<IPAddress>? ipAddresses = null)
    {
        var san = new SubjectAlternativeNameBuilder();
        foreach (var dns in dnsNames ?? ["localhost"])
        {
            san.AddDnsName(dns);
        }

        foreach (var ip in ipAddresses ?? [IPAddress.Loopback])
        {
            san.AddIpAddress(ip);
        }

        return Issue(commonName, "1.3.6.1.5.5.7.3.1", san.Build());
    }

    /// <summary>Issues a client certificate (ClientAuth) whose CN is <paramref name="commonName"/> (e.g. a database role).</summary>
    public IssuedCertificate IssueClientCertificate(string commonName) => Issue(commonName, "1.3.6.1.5.5.7.3.2", san: null);

    /// <summary>Writes the CA certificate as PEM to <paramref name="path"/> and returns the path.</summary>
    public string WritePem(string path)
    {
        File.WriteAllText(path, CertificatePem);
        return path;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Certificate.Dispose();
        _key.Dispose();
    }

    private IssuedCertificate Issue(string commonName, string extendedKeyUsageOid, X509Extension? san)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={commonName}, O=Wire Tests"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(extendedKeyUsageOid)], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(
            Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        if (san is not null)
        {
            request.CertificateExtensions.Add(san);
        }

        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // positive
        var now = DateTimeOffset.UtcNow;
        var generator = X509SignatureGenerator.CreateForECDsa(_key);
        using var publicOnly = request.Create(Certificate.SubjectName, generator, now.AddDays(-1), now.AddYears(1), serial);

        var certificatePem = publicOnly.ExportCertificatePem();
        var privateKeyPem = key.ExportPkcs8PrivateKeyPem();

        // An ephemeral key from CopyWithPrivateKey is not always usable by TLS stacks; a PKCS#12 round trip is.
        using var ephemeral = X509Certificate2.CreateFromPem(certificatePem, privateKeyPem);
        var certificate = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), password: null);
        return new IssuedCertificate(certificate, certificatePem, privateKeyPem, CertificatePem);
    }

    /// <summary>A certificate issued by a <see cref="TestCertificates"/> CA, with its key.</summary>
    public sealed class IssuedCertificate : IDisposable
    {
        internal IssuedCertificate(X509Certificate2 certificate, string certificatePem, string privateKeyPem, string issuerPem)
        {
            Certificate = certificate;
            CertificatePem = certificatePem;
            PrivateKeyPem = privateKeyPem;
            ChainPem = certificatePem + issuerPem;
        }

        /// <summary>The certificate with its private key (usable by <c>SslStream</c>).</summary>
        public X509Certificate2 Certificate { get; }

        /// <summary>The certificate as PEM.</summary>
        public string CertificatePem { get; }

        /// <summary>The private key as unencrypted PKCS#8 PEM.</summary>
        public string PrivateKeyPem { get; }

        /// <summary>The certificate followed by its issuing CA, as PEM.</summary>
        public string ChainPem { get; }

        /// <inheritdoc />
        public void Dispose() => Certificate.Dispose();
    }
}
