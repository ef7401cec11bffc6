using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PeerRelay.Configuration;

namespace PeerRelay.Hosting;

/// <summary>
/// Loads the PEM <c>certfile</c> and <c>keyfile</c> (the key is read from <c>certfile</c> when <c>keyfile</c> is
/// absent, as the reference does). Every failure is a <see cref="RelayConfigException"/> naming the key and file.
/// </summary>
internal static class TlsCertificateLoader
{
    /// <summary>Loads the certificate, its key and any chain certificates that follow it in the file.</summary>
    /// <param name="certFile">The PEM certificate file.</param>
    /// <param name="keyFile">The PEM private key file, or null when the key is in <paramref name="certFile"/>.</param>
    /// <returns>The certificate.</returns>
    /// <exception cref="RelayConfigException">A file is missing, unreadable or holds no usable PEM.</exception>
    public static TlsCertificate Load(string certFile, string? keyFile)
    {
        var certText = ReadPem("certfile", certFile);
        var keyText = keyFile is null ? certText : ReadPem("keyfile", keyFile);
        var keyKey = keyFile is null ? "certfile" : "keyfile";
        var keySource = keyFile ?? certFile;

        var all = new X509Certificate2Collection();
        try
        {
            all.ImportFromPem(certText);
        }
        catch (CryptographicException ex)
        {
            throw new RelayConfigException($"certfile: \"{certFile}\" holds a certificate that cannot be read: {ex.Message}");
        }

        if (all.Count == 0)
        {
            throw new RelayConfigException($"certfile: \"{certFile}\" holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        }

        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(certText, keyText);
        }
        catch (CryptographicException ex)
        {
            throw new RelayConfigException(
                $"{keyKey}: \"{keySource}\" holds no usable private key for the certificate in \"{certFile}\" " +
                $"(an unencrypted PEM key matching the certificate is needed): {ex.Message}");
        }
        catch (ArgumentException ex)
        {
            throw new RelayConfigException(
                $"{keyKey}: \"{keySource}\" holds no PEM private key (-----BEGIN PRIVATE KEY-----): {ex.Message}");
        }

        var chain = new X509Certificate2Collection();
        for (var i = 1; i < all.Count; i++)
        {
            chain.Add(all[i]);
        }

        all[0].Dispose();
        return new TlsCertificate(certificate, chain);
    }

    private static string ReadPem(string key, string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (FileNotFoundException)
        {
            throw new RelayConfigException($"{key}: \"{path}\" does not exist; give the path of a PEM file");
        }
        catch (DirectoryNotFoundException)
        {
            throw new RelayConfigException($"{key}: \"{path}\" does not exist; give the path of a PEM file");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new RelayConfigException($"{key}: cannot read \"{path}\": {ex.Message}");
        }
    }
}
