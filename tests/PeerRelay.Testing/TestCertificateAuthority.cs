using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PeerRelay.Testing;

/// <summary>
/// A throwaway certificate authority for tests of TLS between processes (e.g. a <c>redis-server</c> with
/// <c>--tls-port</c>): its certificate in <see cref="CertPath"/> (PEM), and server certificates it issues for
/// 127.0.0.1 and <c>localhost</c> as PEM certificate and key files. Nothing is installed in a trust store.
/// </summary>
public sealed class TestCertificateAuthority : IDisposable
{
    private readonly ECDsa _key;
    private readonly string _directory;

    private TestCertificateAuthority(string directory, string name, ECDsa key, X509Certificate2 certificate, string certPath)
    {
        _directory = directory;
        Name = name;
        _key = key;
        Certificate = certificate;
        CertPath = certPath;
    }

    /// <summary>Gets the file name prefix of this authority's files.</summary>
    public string Name { get; }

    /// <summary>Gets the authority's certificate.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Gets the PEM file holding the authority's certificate (what a client is told to trust).</summary>
    public string CertPath { get; }

    /// <summary>Creates an authority and writes its certificate into <paramref name="directory"/>.</summary>
    /// <param name="directory">An existing directory.</param>
    /// <param name="name">The file name prefix and common name.</param>
    /// <returns>The authority.</returns>
    public static TestCertificateAuthority Create(string directory, string name = "test-ca")
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
        var certPath = Path.Combine(directory, $"{name}.pem");
        File.WriteAllText(certPath, certificate.ExportCertificatePem() + "\n");
        return new TestCertificateAuthority(directory, name, key, certificate, certPath);
    }

    /// <summary>Issues a server certificate for 127.0.0.1, ::1 and <c>localhost</c> and writes its PEM files.</summary>
    /// <param name="name">The file name prefix.</param>
    /// <returns>The PEM certificate file and the PEM (PKCS#8, unencrypted) key file.</returns>
    public (string CertPath, string KeyPath) IssueServerCertificate(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = TestCertificate.LocalhostServerRequest(key);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
        var now = DateTimeOffset.UtcNow;
        using var issued = request.Create(
            Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(_key), now.AddDays(-1), now.AddDays(29), RandomNumberGenerator.GetBytes(16));
        var certPath = Path.Combine(_directory, $"{Name}-{name}-cert.pem");
        var keyPath = Path.Combine(_directory, $"{Name}-{name}-key.pem");
        File.WriteAllText(certPath, issued.ExportCertificatePem() + "\n");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem() + "\n");
        return (certPath, keyPath);
    }

    public void Dispose()
    {
        Certificate.Dispose();
        _key.Dispose();
    }
}
