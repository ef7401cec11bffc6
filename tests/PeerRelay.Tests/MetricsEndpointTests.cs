using System.Net;
using PeerRelay.Testing;

namespace PeerRelay.Tests;

/// <summary><c>/metrics</c> of <c>peerrelay serve</c>'s host: Prometheus text, the naming scheme, <c>metrics</c> and <c>metrics_port</c>.</summary>
public sealed class MetricsEndpointTests
{
    private static readonly HttpClient Http = new();

    [Fact]
    public async Task Metrics_OnTheRelayPort_PrometheusText_WithConventionalNames()
    {
        await using var relay = await InProcessRelay.StartAsync(string.Empty);
        var http = HttpUri(relay.Uri);
        await using var a = await TestRelayClient.ConnectAsync(relay.Uri);
        await using var b = await TestRelayClient.ConnectAsync(relay.Uri);
        var aId = Guid.NewGuid();
        var bId = Guid.NewGuid();
        await a.RegisterAsync(aId);
        await b.RegisterAsync(bId);
        await a.SendTextAsync(TestRelayClient.PeerConnection(aId, bId));
        await b.ReceiveJsonAsync();
        await using (var c = await TestRelayClient.ConnectAsync(relay.Uri))
        {
            await c.CloseAsync();
        }

        var response = await Http.GetAsync(new Uri(http, "/metrics")).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain; version=0.0.4", response.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Contains("# TYPE peerrelay_messages_forwarded_total counter", text, StringComparison.Ordinal);
        Assert.Equal(1, Value(text, "peerrelay_messages_forwarded_total"));
        Assert.Equal(1, Value(text, "peerrelay_users_active"));
        Assert.Equal(2, Value(text, "peerrelay_clients_registered"));
        Assert.Equal(3, Value(text, "peerrelay_messages_received_total"));
        Assert.True(Value(text, "peerrelay_received_bytes_total") > 100);
        Assert.True(Value(text, "peerrelay_sent_bytes_total") > 100);
        Assert.Equal(1, Value(text, "peerrelay_forward_duration_seconds_count"));
        Assert.Contains("# TYPE peerrelay_forward_duration_seconds histogram", text, StringComparison.Ordinal);
        Assert.Equal(2, Value(text, "peerrelay_registration_duration_seconds_count{result=\"ok\"}"));
        Assert.Equal(2, Value(text, "peerrelay_registrations_total{result=\"ok\"}"));
        Assert.Contains("process_cpu_seconds_total", text, StringComparison.Ordinal);

        // A close is counted when the relay has seen it end: scrape again until it is there.
        await TaskTimeoutExtensions.WaitUntilAsync(async () => (await ScrapeAsync(http)).Contains("peerrelay_connections_closed_total{close_code=\"1000\"} 1", StringComparison.Ordinal));
        Assert.Equal(2, Value(await ScrapeAsync(http), "peerrelay_connections_active"));
    }

    [Fact]
    public async Task Metrics_Off_IsNotServed()
    {
        await using var relay = await InProcessRelay.StartAsync("metrics = false");
        var response = await Http.GetAsync(new Uri(HttpUri(relay.Uri), "/metrics")).WithTimeout();

        // The relay's catch-all answers: this is a relay, connect with a WebSocket.
        Assert.Equal(HttpStatusCode.UpgradeRequired, response.StatusCode);
    }

    [Fact]
    public async Task MetricsPort_ServesOnlyMetrics_AndTheRelayPortNoLonger()
    {
        var port = FreePort.Next();
        await using var relay = await InProcessRelay.StartAsync($"metrics_port = {port}");
        var metrics = new Uri($"http://127.0.0.1:{port}/");

        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(new Uri(metrics, "/metrics")).WithTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(new Uri(metrics, "/demo")).WithTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync(new Uri(HttpUri(relay.Uri), "/metrics")).WithTimeout()).StatusCode);

        // The relay itself still answers on its own port.
        await using var client = await TestRelayClient.ConnectAsync(relay.Uri);
        await client.RegisterAsync(Guid.NewGuid());
    }

    internal static Uri HttpUri(Uri relay) => new UriBuilder(relay) { Scheme = relay.Scheme == "wss" ? "https" : "http", Path = "/" }.Uri;

    internal static async Task<string> ScrapeAsync(Uri http) => await Http.GetStringAsync(new Uri(http, "/metrics")).WithTimeout();

    internal static double Value(string text, string series) => PrometheusText.Value(text, series);
}
