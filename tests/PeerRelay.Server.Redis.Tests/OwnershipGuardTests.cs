using PeerRelay.Protocol;
using PeerRelay.Server.Redis.Internal;
using PeerRelay.Testing;
using StackExchange.Redis;

namespace PeerRelay.Server.Redis.Tests;

/// <summary>
/// Issue 14, ownership across nodes: a late close request never closes a newer socket (the connection-id guard), and
/// after Redis returns a conflicting re-claim is settled by the 4004 rule, so that no UUID is held on two nodes.
/// </summary>
public sealed class OwnershipGuardTests : FleetTest
{
    /// <summary>
    /// A take-over's close request that reaches node-1 only after the UUID was registered there again by a newer socket
    /// (the request was published for the old socket): the newer socket stays. The same request naming the newer
    /// socket's connection closes it, which shows the late one was read and refused, not lost.
    /// </summary>
    [Fact]
    public async Task LateKick_NamingTheOldConnection_NeverClosesTheNewerSocket()
    {
        await StartFleetAsync(2);
        var x = Guid.NewGuid();
        await using var first = await FleetClients.RegisteredAsync(Node(1), x, "first");
        var oldConnection = await ConnectionIdAsync(x);

        // A newer socket takes the UUID over on the same node: the first one is closed with 4004.
        await using var newer = await FleetClients.RegisteredAsync(Node(1), x, "newer");
        Assert.Equal(RelayCloseCodes.DuplicateRegistration, (await first.ReceiveUntilCloseAsync()).Code);
        var newConnection = await ConnectionIdAsync(x);
        Assert.NotEqual(oldConnection, newConnection);

        // node-2's late request for the old socket, then one for the newer socket; node-1 reads its channel in order.
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Fleet.Redis.Configuration);
        var channel = RedisChannel.Literal("{peerrelay}:ch:" + Fleet.NodeIdOf(Node(1)));
        var replyNode = System.Text.Encoding.UTF8.GetBytes(Fleet.NodeIdOf(Node(2)));
        Assert.Equal(1, await redis.GetSubscriber().PublishAsync(
            channel, NodeEnvelope.Close(x, oldConnection, requestId: 1, RelayCloseCodes.DuplicateRegistration, replyNode, "late")));
        Assert.Equal(1, await redis.GetSubscriber().PublishAsync(
            channel, NodeEnvelope.Close(x, newConnection, requestId: 2, RelayCloseCodes.DuplicateRegistration, replyNode, "current")));

        var (code, reason) = await newer.ReceiveUntilCloseAsync();
        Assert.Equal(RelayCloseCodes.DuplicateRegistration, code);
        Assert.Equal("current", reason);
    }

    /// <summary>
    /// Redis comes back empty while node-1 is frozen; meanwhile the same UUID registers on node-2. When node-1 claims
    /// its clients again it finds the live holder on node-2: its own socket is closed with 4004 (the rule of a
    /// take-over), and the UUID is held, and reached, on node-2 only.
    /// </summary>
    [Fact]
    public async Task ReclaimConflict_AfterRedisReturns_TheOtherNodesHolderWins_WithA4004()
    {
        await StartFleetAsync(2, clusterToml: "node_timeout = 30");
        Guid x = Guid.NewGuid(), d = Guid.NewGuid();
        await using var onNode1 = await FleetClients.RegisteredAsync(Node(1), x, "x");

        await Fleet.Redis.StopAsync();
        Node(1).Freeze();
        await Fleet.Redis.RestartAsync();
        var node2 = Fleet.NodeIdOf(Node(2));
        await TaskTimeoutExtensions.WaitUntilAsync(async () =>
            await Fleet.Redis.CliAsync("EXISTS", "{peerrelay}:n:" + node2) == "1"
            && (await Fleet.Redis.CliAsync("PUBSUB", "NUMSUB", "{peerrelay}:ch:" + node2)).EndsWith("\n1", StringComparison.Ordinal));

        // Redis knows nothing of node-1's socket: the same UUID registers on node-2 without a take-over. (At a retry: until
        // node-2's own command connection has come back too, after its reconnect back-off, it answers 1013.)
        await using var onNode2 = await FleetClients.RegisterWhenReadyAsync(Node(2), x);

        Node(1).Thaw();
        var (code, _) = await onNode1.ReceiveUntilCloseAsync();
        Assert.Equal(RelayCloseCodes.DuplicateRegistration, code);
        Assert.Equal(node2, await Fleet.Redis.CliAsync("HGET", $"{{peerrelay}}:c:{x}", "n"));

        // A client of node-1 reaches the UUID on node-2.
        await using var dave = await FleetClients.RegisterWhenReadyAsync(Node(1), d);
        await dave.SendToAsync(d, x, "which one?");
        Assert.Equal("which one?", (await onNode2.ReceiveJsonAsync()).Str("description"));
    }

    private async Task<long> ConnectionIdAsync(Guid uuid) =>
        long.Parse(await Fleet.Redis.CliAsync("HGET", $"{{peerrelay}}:c:{uuid}", "c"), System.Globalization.CultureInfo.InvariantCulture);
}
