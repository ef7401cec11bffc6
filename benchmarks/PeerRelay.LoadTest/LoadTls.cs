using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace PeerRelay.LoadTest;

/// <summary>
/// The client side of <c>wss://</c>: an <see cref="SslStream"/> over the raw socket, authenticated before the HTTP
/// upgrade. Every connect is a full handshake unless <c>--tls-resume</c> is given (TLS session resumption off by
/// default: a load test of first connects must not measure the cheaper resumed handshake). The server's certificate is
/// checked against the system's roots, or against the certificates of <c>--ca FILE</c> only (a private CA or the
/// self-signed certificate itself: the loopback test certificate of <c>benchmarks/run-tls.sh</c>). The host name (or IP
/// address) of the URL is always checked against the certificate.
/// </summary>
internal sealed class LoadTls
{
    private readonly SslClientAuthenticationOptions _options;
    private string? _negotiated;

    private LoadTls(SslClientAuthenticationOptions options) => _options = options;

    /// <summary>Gets the protocol and cipher suite of the first handshake, e.g. <c>Tls13 TLS_AES_256_GCM_SHA384</c>; null before it.</summary>
    public string? Negotiated => Volatile.Read(ref _negotiated);

    /// <summary>Returns the TLS settings for <paramref name="url"/>: null for <c>ws://</c>, the client's for <c>wss://</c>.</summary>
    /// <exception cref="ArgumentException">The URL's scheme is neither, or <c>--ca</c> holds no certificate.</exception>
    public static LoadTls? For(Uri url, LoadOptions options)
    {
        if (url.Scheme == "ws")
        {
            return null;
        }

        if (url.Scheme != "wss")
        {
            throw new ArgumentException($"{url} is neither ws:// nor wss://.");
        }

        var client = new SslClientAuthenticationOptions
        {
            // A host name is sent as SNI and checked against the certificate; an IP address is checked against its IP SANs.
            TargetHost = url.Host,
            AllowTlsResume = options.TlsResume,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        if (options.CaFile is { } file)
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(file);
            if (roots.Count == 0)
            {
                throw new ArgumentException($"--ca {file} holds no PEM certificate.");
            }

            var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
            policy.CustomTrustStore.AddRange(roots);
            client.CertificateChainPolicy = policy;
        }

        return new LoadTls(client);
    }

    /// <summary>Runs the TLS handshake over <paramref name="stream"/> (which the returned stream then owns).</summary>
    public async Task<SslStream> AuthenticateAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsClientAsync(_options, cancellationToken);
            if (Volatile.Read(ref _negotiated) is null)
            {
                Interlocked.CompareExchange(ref _negotiated, $"{ssl.SslProtocol} {ssl.NegotiatedCipherSuite}", null);
            }

            return ssl;
        }
        catch
        {
            await ssl.DisposeAsync();
            throw;
        }
    }
}
