using PeerRelay.Protocol;
using PeerRelay.Testing;

namespace PeerRelay.Server.Redis.Tests;

/// <summary>Issue 14: the meter <c>PeerRelay.Cluster</c> on each node's <c>/metrics</c> (Prometheus text).</summary>
public sealed class ClusterMetricsTests
{
    [Fact]
    public async Task Metrics_ShowNodes_CrossNodePublishesByResult_MessagesReceived_TakeOvers_AndRedisRoundTrips()
    {
        await using var fleet = await RelayFleet.StartAsync(2);
        RelayProcess node1 = fleet.Nodes[0], node2 = fleet.Nodes[1];
        Guid a = Guid.NewGuid(), b = Guid.NewGuid();
        await using var alice = await FleetClients.RegisteredAsync(node1, a, "alice");
        await using var bob = await FleetClients.RegisteredAsync(node2, b, "bob");

        // One message delivered across nodes, one for a UUID nobody holds (answered with an error).
        await alice.SendToAsync(a, b, "hello");
        Assert.Equal("hello", (await bob.ReceiveJsonAsync()).Str("description"));
        await alice.SendToAsync(a, Guid.NewGuid(), "nobody");
        Assert.NotNull((await alice.ReceiveJsonAsync()).Str("error"));

        // Bob's UUID taken over from node-1: node-2 closes his socket with 4004 and answers node-1.
        await using var bobAgain = await FleetClients.RegisteredAsync(node1, b, "bob");
        Assert.Equal(RelayCloseCodes.DuplicateRegistration, (await bob.ReceiveUntilCloseAsync()).Code);

        // Counters are recorded as the replies come back: scrape until they are all there.
        var expected1 = new Dictionary<string, double>
        {
            ["peerrelay_cluster_nodes"] = 2,
            ["peerrelay_cluster_publishes_total{result=\"delivered\"}"] = 1,
            ["peerrelay_cluster_publishes_total{result=\"unknown_peer\"}"] = 1,
            ["peerrelay_cluster_takeovers_total"] = 1,
            ["peerrelay_cluster_received_total{kind=\"ack\"}"] = 1,
        };
        var expected2 = new Dictionary<string, double>
        {
            ["peerrelay_cluster_nodes"] = 2,
            ["peerrelay_cluster_received_total{kind=\"message\"}"] = 1,
            ["peerrelay_cluster_received_total{kind=\"close\"}"] = 1,
        };
        var text1 = await ScrapeUntilAsync(node1, expected1);
        await ScrapeUntilAsync(node2, expected2);
        Assert.True(PrometheusText.Value(text1, "peerrelay_cluster_redis_duration_seconds_count") >= 1);
        Assert.Contains("# TYPE peerrelay_cluster_redis_duration_seconds histogram", text1, StringComparison.Ordinal);
    }

    private static async Task<string> ScrapeUntilAsync(RelayProcess node, Dictionary<string, double> expected)
    {
        var text = string.Empty;
        try
        {
            await TaskTimeoutExtensions.WaitUntilAsync(async () =>
            {
                text = await PrometheusText.ScrapeAsync(node.Uri!);
                return expected.All(pair => PrometheusText.Value(text, pair.Key) == pair.Value);
            });
        }
        catch (TimeoutException)
        {
            var seen = string.Join(", ", expected.Keys.Select(k => $"{k} = {PrometheusText.Value(text, k)}"));
            throw new TimeoutException($"/metrics of {node.Uri} never showed the expected figures; last seen: {seen}");
        }

        return text;
    }
}
