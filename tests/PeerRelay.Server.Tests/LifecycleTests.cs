using Microsoft.Extensions.DependencyInjection;
using System.Net;
using PeerRelay.Protocol;
using PeerRelay.Testing;

namespace PeerRelay.Server.Tests;

public sealed class LifecycleTests
{
    [Fact]
    public async Task Shutdown_ClosesEveryClientWith1001()
    {
        var server = await RelayTestServer.StartAsync();
        var clients = new List<TestRelayClient>();
        try
        {
            for (var i = 0; i < 20; i++)
            {
                var client = await TestRelayClient.ConnectAsync(server.Uri);
                if (i % 2 == 0)
                {
                    await client.RegisterAsync(Guid.NewGuid());
                }

                clients.Add(client);
            }

            var closes = clients.Select(c => c.ReceiveCloseAsync()).ToList();
            await server.StopAsync().WithTimeout();
            foreach (var close in closes)
            {
                Assert.Equal((RelayCloseCodes.GoingAway, "Server is shutting down."), await close);
            }

            Assert.Equal(0, server.ConnectionCount());
        }
        finally
        {
            foreach (var c in clients)
            {
                await c.DisposeAsync();
            }

            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task PlainHttpRequest_Gets426WithExplanation()
    {
        await using var server = await RelayTestServer.StartAsync();
        using var http = new HttpClient();
        var response = await http.GetAsync(new UriBuilder(server.Uri) { Scheme = "http" }.Uri).WithTimeout();
        Assert.Equal(HttpStatusCode.UpgradeRequired, response.StatusCode);
        Assert.Contains("PeerRelay", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Healthz_Live_Readyz_Ready()
    {
        await using var server = await RelayTestServer.StartAsync();
        using var http = new HttpClient();
        var live = await http.GetAsync(new UriBuilder(server.Uri) { Scheme = "http", Path = "/healthz" }.Uri).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("ok\n", await live.Content.ReadAsStringAsync());
        var ready = await http.GetAsync(new UriBuilder(server.Uri) { Scheme = "http", Path = "/readyz" }.Uri).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("ready\n", await ready.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Readyz_AnotherReadinessCheckFailing_Is503NamingIt()
    {
        // What a scale-out backend does when its store is required and unreachable.
        await using var server = await RelayTestServer.StartAsync(relay: r => r.Services.AddHealthChecks().AddCheck(
            "cluster",
            () => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Unhealthy("redis unreachable"),
            tags: [PeerRelay.Server.Hosting.PeerRelayHealthChecks.ReadyTag]));
        using var http = new HttpClient();
        var ready = await http.GetAsync(new UriBuilder(server.Uri) { Scheme = "http", Path = "/readyz" }.Uri).WithTimeout();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal("not ready\ncluster: redis unreachable\n", await ready.Content.ReadAsStringAsync());
        var live = await http.GetAsync(new UriBuilder(server.Uri) { Scheme = "http", Path = "/healthz" }.Uri).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    [Fact]
    public async Task AnyPath_ServesTheRelay()
    {
        await using var server = await RelayTestServer.StartAsync();
        await using var client = await TestRelayClient.ConnectAsync(new Uri(server.Uri, "/some/deeper/path"));
        await client.RegisterAsync(Guid.NewGuid());
    }
}
