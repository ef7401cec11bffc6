using System.Net;
using System.Net.Http.Headers;
using PeerRelay.Configuration;
using PeerRelay.Testing;

namespace PeerRelay.Tests;

/// <summary><c>admin_token</c> and <c>admin_port</c> in <c>peerrelay serve</c>'s host.</summary>
public sealed class AdminHostTests
{
    private const string Token = "0123456789abcdef0123456789abcdef";

    private static readonly HttpClient Http = new();

    [Fact]
    public async Task AdminToken_OpensTheApiOnTheRelayPort_OnlyWithTheToken()
    {
        await using var relay = await InProcessRelay.StartAsync($"admin_token = \"{Token}\"");
        var api = new Uri(MetricsEndpointTests.HttpUri(relay.Uri), "/admin/api/summary");

        Assert.Equal(HttpStatusCode.Unauthorized, (await Http.GetAsync(api).WithTimeout()).StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, api);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        Assert.Equal(HttpStatusCode.OK, (await Http.SendAsync(request).WithTimeout()).StatusCode);
    }

    [Fact]
    public async Task WithoutAdminSettings_ThereIsNoAdminSide()
    {
        await using var relay = await InProcessRelay.StartAsync(string.Empty);
        var http = MetricsEndpointTests.HttpUri(relay.Uri);

        Assert.Equal(HttpStatusCode.UpgradeRequired, (await Http.GetAsync(new Uri(http, "/admin/api/summary")).WithTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.UpgradeRequired, (await Http.GetAsync(new Uri(http, "/admin")).WithTimeout()).StatusCode);
    }

    [Fact]
    public async Task AdminPort_ServesTheApiOnLoopbackWithoutAToken_AndNothingElse()
    {
        var port = FreePort.Next();
        await using var relay = await InProcessRelay.StartAsync($"admin_port = {port}");
        var admin = new Uri($"http://127.0.0.1:{port}/");

        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(new Uri(admin, "/admin/api/summary")).WithTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(new Uri(admin, "/admin")).WithTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(new Uri(admin, "/demo")).WithTimeout()).StatusCode);

        // The relay's own port has no token to accept: no admin side there.
        var relayPort = MetricsEndpointTests.HttpUri(relay.Uri);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(new Uri(relayPort, "/admin/api/summary")).WithTimeout()).StatusCode);

        // A name that is not loopback (DNS rebinding: a page of evil.example resolved to 127.0.0.1) is not let in.
        using var rebound = new HttpRequestMessage(HttpMethod.Post, new Uri(admin, "/admin/api/drain"));
        rebound.Headers.Host = $"evil.example:{port}";
        Assert.Equal(HttpStatusCode.NotFound, (await Http.SendAsync(rebound).WithTimeout()).StatusCode);

        // A page of another origin cannot drain the node through the loopback port either.
        using var crossSite = new HttpRequestMessage(HttpMethod.Post, new Uri(admin, "/admin/api/drain"));
        crossSite.Headers.Add("Origin", "https://evil.example");
        Assert.Equal(HttpStatusCode.Forbidden, (await Http.SendAsync(crossSite).WithTimeout()).StatusCode);
    }

    [Theory]
    [InlineData("admin_token = \"short\"", "admin_token: the value is not allowed; use a secret of at least 16 characters")]
    [InlineData("port = 9000\nadmin_port = 9000", "admin_port: 9000 is already the relay's port")]
    [InlineData("port = 9000\nmetrics_port = 9000", "metrics_port: 9000 is already the relay's port or admin_port")]
    public void BadOperationsSettings_StopStartUp_NamingTheKey(string toml, string expected)
    {
        var error = Assert.Throws<RelayConfigException>(() => RelayConfigLoader.Parse(toml, "test.toml"));

        Assert.Contains(error.Problems, p => p.Contains(expected, StringComparison.Ordinal));
        Assert.DoesNotContain(error.Problems, p => p.Contains("\"short\"", StringComparison.Ordinal));
    }
}
