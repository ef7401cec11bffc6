using PeerRelay.Testing;
using Xunit.Abstractions;

namespace PeerRelay.Server.Redis.Tests;

/// <summary>
/// Issue 14 on Redis Sentinel (Debian's redis-sentinel): the nodes are given the Sentinels and the service name, not
/// the master; they register and forward across nodes, and after a failover they follow the new master: their
/// registrations are held there, their channels are read there, and forwarding goes on for the same sockets; the
/// failover asked of a Sentinel (SENTINEL FAILOVER), or the master killed (SIGKILL).
/// </summary>
public sealed class RedisSentinelTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ThroughSentinels_FleetFollowsAFailover_RegistrationsHeldOnTheNewMaster_ForwardingResumes(bool killMaster)
    {
        await using var sentinels = await RedisSentinelSet.StartAsync(replicas: 1, sentinels: 2);
        // node_timeout well above a failover's seconds (a killed master: found down after 1 s, a vote, perhaps a second
        // one 8 s later): the nodes ride it out without giving up their clients.
        await using var fleet = await RelayFleet.StartOnRedisAsync(sentinels.Configuration, 3, clusterToml: "node_timeout = 20");
        var master = await sentinels.MasterAsync();
        Assert.Same(sentinels.Servers[0], master);

        Guid a = Guid.NewGuid(), b = Guid.NewGuid(), c = Guid.NewGuid();
        await using var alice = await FleetClients.RegisteredAsync(fleet.Nodes[0], a, "alice");
        await using var bob = await FleetClients.RegisteredAsync(fleet.Nodes[1], b, "bob");
        await using var carol = await FleetClients.RegisteredAsync(fleet.Nodes[2], c, "carol");
        await AssertFleetOnAsync(fleet, master, (a, 0), (b, 1), (c, 2));
        await FleetClients.AssertExchangeAsync(alice, a, bob, b, "before the failover");

        var (old, promoted) = await sentinels.FailoverAsync(killMaster);
        Assert.Same(master, old);

        // Forwarding resumes (a message sent meanwhile comes back with an error, none is lost); every node's channel
        // is then read on the new master and every registration is held there by the same node.
        var failedProbes = await FleetClients.AwaitForwardingAsync(alice, a, bob, b);
        output.WriteLine($"{failedProbes} probes came back with an error before forwarding resumed");
        await AssertFleetOnAsync(fleet, promoted, (a, 0), (b, 1), (c, 2));
        using var http = new HttpClient();
        foreach (var node in fleet.Nodes)
        {
            var readyz = new Uri($"http://127.0.0.1:{node.Port}/readyz");
            await TaskTimeoutExtensions.WaitUntilAsync(async () => await http.GetStringAsync(readyz) == "ready\n");
        }

        // The same sockets (none was closed) reach each other across nodes, and a new client registers.
        await FleetClients.AssertExchangeAsync(alice, a, bob, b, "after the failover");
        await FleetClients.AssertExchangeAsync(bob, b, carol, c, "after the failover", "bob", "carol");
        var d = Guid.NewGuid();
        await using var dave = await FleetClients.RegisteredAsync(fleet.Nodes[2], d, "dave");
        Assert.Equal(fleet.NodeIdOf(fleet.Nodes[2]), await promoted.CliAsync("HGET", $"{{peerrelay}}:c:{d}", "n"));
        await FleetClients.AssertExchangeAsync(alice, a, dave, d, "to a client registered after the failover", bobName: "dave");
        Assert.DoesNotContain(fleet.Nodes, n => n.Output.Contains("lease in time", StringComparison.Ordinal));
    }

    /// <summary>
    /// Waits until <paramref name="server"/> carries every node's channel and holds each UUID for its node.
    /// </summary>
    private static async Task AssertFleetOnAsync(RelayFleet fleet, RedisServer server, params (Guid Uuid, int Node)[] holders)
    {
        foreach (var node in fleet.Nodes)
        {
            var channel = "{peerrelay}:ch:" + fleet.NodeIdOf(node);
            await TaskTimeoutExtensions.WaitUntilAsync(
                async () => (await server.CliAsync("PUBSUB", "NUMSUB", channel)) == channel + "\n1", what: $"{channel} read on {server.Configuration}");
        }

        foreach (var (uuid, node) in holders)
        {
            await TaskTimeoutExtensions.WaitUntilAsync(
                async () => await server.CliAsync("HGET", $"{{peerrelay}}:c:{uuid}", "n") == fleet.NodeIdOf(fleet.Nodes[node]),
                what: $"{uuid} held by node-{node + 1} on {server.Configuration}");
        }
    }
}
