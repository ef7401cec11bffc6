using Microsoft.AspNetCore.Builder;
using PeerRelay.Configuration;
using PeerRelay.Hosting;
using PeerRelay.Testing;

namespace PeerRelay.Tests;

public sealed class TlsTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly TestCertificate _certificate;

    public TlsTests() => _certificate = TestCertificate.Create(_directory.Path);

    public void Dispose()
    {
        _certificate.Dispose();
        _directory.Dispose();
    }

    [Fact]
    public async Task CertAndKeyFiles_ServeWss_AndAClientRegisters()
    {
        await using var relay = await InProcessRelay.StartAsync(
            $"certfile = \"{_certificate.CertPath}\"\nkeyfile = \"{_certificate.KeyPath}\"");

        Assert.Equal("wss", relay.Uri.Scheme);
        await using var client = await TestRelayClient.ConnectAsync(relay.Uri, _certificate.Trust);
        await client.RegisterAsync(Guid.NewGuid());
    }

    [Fact]
    public async Task KeyInsideTheCertFile_IsUsedWhenKeyFileIsAbsent()
    {
        await using var relay = await InProcessRelay.StartAsync($"certfile = \"{_certificate.CombinedPath}\"");

        await using var client = await TestRelayClient.ConnectAsync(relay.Uri, _certificate.Trust);
        await client.RegisterAsync(Guid.NewGuid());
    }

    [Theory]
    [InlineData("relay")]
    [InlineData("kestrel")]
    [InlineData("epoll")]
    public async Task TwoTlsClients_ExchangeAnOffer_OnEitherSocketTransport(string transport)
    {
        await using var relay = await InProcessRelay.StartAsync($"certfile = \"{_certificate.CombinedPath}\"\nsocket_transport = \"{transport}\"");
        await using var a = await TestRelayClient.ConnectAsync(relay.Uri, _certificate.Trust);
        await using var b = await TestRelayClient.ConnectAsync(relay.Uri, _certificate.Trust);
        var (ua, ub) = (Guid.NewGuid(), Guid.NewGuid());
        await a.RegisterAsync(ua, "a");
        await b.RegisterAsync(ub, "b");

        await a.SendTextAsync(TestRelayClient.PeerConnection(ua, ub, "sdp-over-tls", sourceName: "a"));

        var forwarded = await b.ReceiveJsonAsync();
        Assert.Equal("sdp-over-tls", forwarded["description"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("relay")]
    [InlineData("kestrel")]
    [InlineData("epoll")]
    public async Task Http2OverTls_ServesPlainRequests_OnEitherSocketTransport(string transport)
    {
        // Browsers fetch /healthz, /peerrelay.js and /demo over HTTP/2 when TLS offers it (ALPN): Kestrel's HTTP/2
        // runs over the same transport as the WebSockets.
        await using var relay = await InProcessRelay.StartAsync($"certfile = \"{_certificate.CombinedPath}\"\nsocket_transport = \"{transport}\"");
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = _certificate.IsThisCertificate;
        using var client = new HttpClient(handler)
        {
            DefaultRequestVersion = System.Net.HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        var https = new UriBuilder(relay.Uri) { Scheme = "https" }.Uri;
        for (var i = 0; i < 3; i++)
        {
            using var response = await client.GetAsync(new Uri(https, "/healthz")).WithTimeout();
            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(System.Net.HttpVersion.Version20, response.Version);
        }

        var script = await client.GetStringAsync(new Uri(https, "/peerrelay.js")).WithTimeout();
        Assert.Contains("relay_registration", script, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingCertFile_IsAConfigErrorNamingIt()
    {
        var missing = _directory.File("nope.pem");

        var error = Assert.Throws<RelayConfigException>(() => Build($"certfile = \"{missing}\""));

        Assert.StartsWith($"certfile: \"{missing}\" does not exist", Assert.Single(error.Problems), StringComparison.Ordinal);
    }

    [Fact]
    public void MissingKeyFile_IsAConfigErrorNamingIt()
    {
        var missing = _directory.File("nokey.pem");

        var error = Assert.Throws<RelayConfigException>(() => Build($"certfile = \"{_certificate.CertPath}\"\nkeyfile = \"{missing}\""));

        Assert.StartsWith($"keyfile: \"{missing}\" does not exist", Assert.Single(error.Problems), StringComparison.Ordinal);
    }

    [Fact]
    public void CertFileWithoutACertificate_IsAConfigError()
    {
        var junk = _directory.WriteFile("junk.pem", "not a certificate\n");

        var error = Assert.Throws<RelayConfigException>(() => Build($"certfile = \"{junk}\"\nkeyfile = \"{_certificate.KeyPath}\""));

        Assert.Contains("holds no PEM certificate", Assert.Single(error.Problems), StringComparison.Ordinal);
    }

    [Fact]
    public void CertFileWithoutAKey_AndNoKeyFile_IsAConfigError()
    {
        var error = Assert.Throws<RelayConfigException>(() => Build($"certfile = \"{_certificate.CertPath}\""));

        var problem = Assert.Single(error.Problems);
        Assert.StartsWith($"certfile: \"{_certificate.CertPath}\" holds no", problem, StringComparison.Ordinal);
        Assert.Contains("private key", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void KeyOfAnotherCertificate_IsAConfigErrorNamingKeyFile()
    {
        using var other = TestCertificate.Create(_directory.Path, "other");

        var error = Assert.Throws<RelayConfigException>(() => Build($"certfile = \"{_certificate.CertPath}\"\nkeyfile = \"{other.KeyPath}\""));

        Assert.StartsWith($"keyfile: \"{other.KeyPath}\"", Assert.Single(error.Problems), StringComparison.Ordinal);
    }

    private static WebApplication Build(string toml) => RelayHostBuilder.Build(RelayConfigLoader.Parse(toml, "test.toml"));
}
