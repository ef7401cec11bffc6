using System.Security.Cryptography.X509Certificates;

namespace PeerRelay.Hosting;

/// <summary>The server certificate with its private key, and the intermediate certificates sent with it.</summary>
/// <param name="Certificate">The server (leaf) certificate, with its private key.</param>
/// <param name="Chain">The other certificates of <c>certfile</c> (e.g. a Let's Encrypt <c>fullchain.pem</c>).</param>
internal sealed record TlsCertificate(X509Certificate2 Certificate, X509Certificate2Collection Chain);
