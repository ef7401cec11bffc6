using System.Net;
using System.Net.Security;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PeerRelay.Testing;

/// <summary>
/// A self-signed server certificate for <c>localhost</c>, 127.0.0.1 and ::1, written as PEM files the relay reads:
/// <see cref="CertPath"/> + <see cref="KeyPath"/>, and <see cref="CombinedPath"/> with both in one file.
/// Clients accept exactly this certificate through <see cref="Trust"/>.
/// </summary>
public sealed class TestCertificate : IDisposable
{
    private TestCertificate(X509Certificate2 certificate, string certPath, string keyPath, string combinedPath)
    {
        Certificate = certificate;
        CertPath = certPath;
        KeyPath = keyPath;
        CombinedPath = combinedPath;
    }

    /// <summary>Gets the certificate (with its key).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Gets the PEM file holding only the certificate.</summary>
    public string CertPath { get; }

    /// <summary>Gets the PEM file holding only the private key (PKCS#8, unencrypted).</summary>
    public string KeyPath { get; }

    /// <summary>Gets the PEM file holding the certificate followed by its key.</summary>
    public string CombinedPath { get; }

    /// <summary>Creates a certificate and writes its PEM files into <paramref name="directory"/>.</summary>
    /// <param name="directory">An existing directory.</param>
    /// <param name="name">The file name prefix.</param>
    /// <returns>The certificate.</returns>
    public static TestCertificate Create(string directory, string name = "relay")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = LocalhostServerRequest(key);
        var now = DateTimeOffset.UtcNow;
        var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));

        var certPem = certificate.ExportCertificatePem();
        var keyPem = key.ExportPkcs8PrivateKeyPem();
        var certPath = Path.Combine(directory, $"{name}-cert.pem");
        var keyPath = Path.Combine(directory, $"{name}-key.pem");
        var combinedPath = Path.Combine(directory, $"{name}-combined.pem");
        File.WriteAllText(certPath, certPem + "\n");
        File.WriteAllText(keyPath, keyPem + "\n");
        File.WriteAllText(combinedPath, certPem + "\n" + keyPem + "\n");
        return new TestCertificate(certificate, certPath, keyPath, combinedPath);
    }

    /// <summary>A request for a server certificate of <c>localhost</c>, 127.0.0.1 and ::1 (TLS server use only).</summary>
    /// <param name="key">The certificate's key.</param>
    /// <returns>The request, to sign.</returns>
    internal static CertificateRequest LocalhostServerRequest(ECDsa key)
    {
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        return request;
    }

    /// <summary>Makes a client accept this certificate, and only this one.</summary>
    /// <param name="options">The client's options.</param>
    public void Trust(ClientWebSocketOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.RemoteCertificateValidationCallback = IsThisCertificate;
    }

    /// <summary>A certificate validation callback that accepts this certificate only.</summary>
    /// <param name="sender">Unused.</param>
    /// <param name="certificate">The server's certificate.</param>
    /// <param name="chain">Unused.</param>
    /// <param name="errors">Unused: a self-signed certificate always has chain errors.</param>
    /// <returns>Whether the server presented this certificate.</returns>
    public bool IsThisCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors) =>
        certificate is not null && certificate.GetCertHashString() == Certificate.GetCertHashString();

    public void Dispose() => Certificate.Dispose();
}
