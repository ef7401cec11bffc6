using System.Diagnostics.Metrics;
using System.Net;
using System.Net.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PeerRelay.Testing;

namespace PeerRelay.Server.Tests;

/// <summary>The origin allow-list, over real WebSocket handshakes.</summary>
public sealed class OriginPolicyTests
{
    [Theory]
    [InlineData("https://evil.example.org")]
    [InlineData("https://app.example.org.evil.example")]
    [InlineData("http://app.example.org")]
    [InlineData("https://app.example.org:8443")]
    [InlineData("null")]
    public async Task ForeignOrigin_IsRefusedWith403BeforeTheUpgrade(string origin)
    {
        await using var server = await RelayTestServer.StartAsync(o => o.AllowedOrigins.Add("https://app.example.org"));
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.SetRequestHeader("Origin", origin);
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(server.Uri, CancellationToken.None).WithTimeout());
        Assert.Equal(HttpStatusCode.Forbidden, socket.HttpStatusCode);
    }

    [Fact]
    public async Task Refusal_IsLoggedAndCounted()
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await RelayTestServer.StartAsync(
            o => o.AllowedOrigins.Add("https://app.example.org"),
            host: b => b.Logging.AddProvider(logs));
        using var refused = new MetricRecorder(server.Services.GetRequiredService<IMeterFactory>(), RelayMetrics.MeterName, "peerrelay.handshakes.rejected");

        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Origin", "https://evil.example.org");
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(server.Uri, CancellationToken.None).WithTimeout());

        Assert.Equal(1, refused.Count("reason", "origin"));
        Assert.Contains(logs.Lines, l => l.StartsWith("Warning ", StringComparison.Ordinal) && l.Contains("origin https://evil.example.org is not in allowed_origins", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("https://app.example.org")]
    [InlineData("HTTPS://APP.example.org:443")]
    [InlineData("http://localhost:3000")]
    public async Task ListedOrigin_Connects(string origin)
    {
        await using var server = await RelayTestServer.StartAsync(o =>
        {
            o.AllowedOrigins.Add("https://app.example.org/");
            o.AllowedOrigins.Add("http://localhost:3000");
        });
        await using var client = await TestRelayClient.ConnectAsync(server.Uri, o => o.SetRequestHeader("Origin", origin));
        await client.RegisterAsync(Guid.NewGuid());
    }

    [Fact]
    public async Task NoOriginHeader_Connects_WhenAListIsSet()
    {
        await using var server = await RelayTestServer.StartAsync(o => o.AllowedOrigins.Add("https://app.example.org"));
        await using var client = await TestRelayClient.ConnectAsync(server.Uri);
        await client.RegisterAsync(Guid.NewGuid());
    }

    [Fact]
    public async Task RelaysOwnOrigin_Connects_ForPagesItServes()
    {
        await using var server = await RelayTestServer.StartAsync(o => o.AllowedOrigins.Add("https://app.example.org"));
        var own = $"http://{server.Uri.Authority}";
        await using var client = await TestRelayClient.ConnectAsync(server.Uri, o => o.SetRequestHeader("Origin", own));
        await client.RegisterAsync(Guid.NewGuid());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("*")]
    public async Task AnyOrigin_Connects_ByDefaultOrWithStar(string? entry)
    {
        await using var server = await RelayTestServer.StartAsync(o =>
        {
            if (entry is not null)
            {
                o.AllowedOrigins.Add(entry);
            }
        });
        await using var client = await TestRelayClient.ConnectAsync(server.Uri, o => o.SetRequestHeader("Origin", "https://anything.example"));
        await client.RegisterAsync(Guid.NewGuid());
    }

    [Theory]
    [InlineData("app.example.org")]
    [InlineData("https://app.example.org/path")]
    [InlineData("ftp://app.example.org")]
    [InlineData("https://*.example.org")]
    public void InvalidEntry_IsAConfigurationProblem(string entry)
    {
        var options = new RelayServerOptions();
        options.AllowedOrigins.Add(entry);
        var problem = Assert.Single(options.Validate());
        Assert.Equal($"allowed_origins: '{entry}' is not an origin; use scheme://host[:port] (e.g. https://app.example.org) or *", problem);
    }
}
