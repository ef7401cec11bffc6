using PeerRelay.Protocol;
using PeerRelay.Testing;

namespace PeerRelay.Server.Redis.Tests;

/// <summary>
/// Issue 14 on a real Redis Cluster (three masters, slots assigned by <c>redis-cli --cluster create</c>): the nodes use
/// sharded pub/sub (SSUBSCRIBE, SPUBLISH from the forward script), and every key and channel carries the hash tag of
/// the key prefix, so that the registry's Lua scripts run in one slot.
/// </summary>
public sealed class RedisClusterTests
{
    [Fact]
    public async Task OnARedisCluster_ShardedChannels_ForwardingUnknownPeerAndTakeOverAcrossNodes()
    {
        await using var cluster = await RedisCluster.StartAsync(3);
        await using var fleet = await RelayFleet.StartOnClusterAsync(cluster, 2);
        RelayProcess node1 = fleet.Nodes[0], node2 = fleet.Nodes[1];

        // Each node listens on a shard channel of the slot of "{peerrelay}", on that slot's master; no classic channel.
        string[] channels = ["{peerrelay}:ch:" + fleet.NodeIdOf(node1), "{peerrelay}:ch:" + fleet.NodeIdOf(node2)];
        await TaskTimeoutExtensions.WaitUntilAsync(async () =>
        {
            var shardChannels = (await cluster.CliOnEachAsync("PUBSUB", "SHARDCHANNELS")).SelectMany(o => o.Split('\n')).ToHashSet();
            return channels.All(shardChannels.Contains);
        });
        Assert.All(await cluster.CliOnEachAsync("PUBSUB", "CHANNELS", "{peerrelay}:*"), output => Assert.Equal(string.Empty, output));
        var slot = await cluster.Masters[0].CliAsync("CLUSTER", "KEYSLOT", "{peerrelay}");
        foreach (var channel in channels)
        {
            Assert.Equal(slot, await cluster.Masters[0].CliAsync("CLUSTER", "KEYSLOT", channel));
        }

        Guid a = Guid.NewGuid(), b = Guid.NewGuid();
        await using var alice = await FleetClients.RegisteredAsync(node1, a, "alice");
        await using var bob = await FleetClients.RegisteredAsync(node2, b, "bob");
        Assert.Equal(fleet.NodeIdOf(node2), await cluster.CliAsync("HGET", $"{{peerrelay}}:c:{b}", "n"));

        // Both ways across nodes, stamped with the sender's identity as on one node; a UUID nobody holds: the uniform error.
        await FleetClients.AssertExchangeAsync(alice, a, bob, b, "on a cluster");

        // Bob's UUID taken over on node-1: his socket on node-2 is closed with 4004 (over node-2's shard channel), and
        // messages for the UUID reach the new socket.
        await using var bobAgain = await FleetClients.RegisteredAsync(node1, b, "bob");
        Assert.Equal(RelayCloseCodes.DuplicateRegistration, (await bob.ReceiveUntilCloseAsync()).Code);
        await alice.SendToAsync(a, b, "to the new one");
        Assert.Equal("to the new one", (await bobAgain.ReceiveJsonAsync()).Str("description"));
        Assert.Equal(fleet.NodeIdOf(node1), await cluster.CliAsync("HGET", $"{{peerrelay}}:c:{b}", "n"));
    }
}
