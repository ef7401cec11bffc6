namespace PeerRelay.Testing;

/// <summary>The PEM files of a Redis server's TLS (e.g. from <see cref="TestCertificateAuthority"/>).</summary>
/// <param name="CaCertPath">The certificate of the authority that issued the server's certificate.</param>
/// <param name="CertPath">The server's certificate.</param>
/// <param name="KeyPath">The server's private key.</param>
public sealed record RedisTlsFiles(string CaCertPath, string CertPath, string KeyPath);
