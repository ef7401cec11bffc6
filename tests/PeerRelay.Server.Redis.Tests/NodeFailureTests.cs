using System.Net.Http;
using PeerRelay.Protocol;
using PeerRelay.Testing;

namespace PeerRelay.Server.Redis.Tests;

/// <summary>Issue 14: a node killed, Redis stopped or frozen, a node drained; each with real processes.</summary>
public sealed class NodeFailureTests : FleetTest
{
    [Fact]
    public async Task NodeKilled_ForwardsToItsUuidsFailAtOnce_ItsClientsRegisterElsewhere_AndItsEntriesAreSwept()
    {
        await StartFleetAsync();
        Guid a = Guid.NewGuid(), b = Guid.NewGuid();
        await using var alice = await FleetClients.RegisteredAsync(Node(1), a, "alice");
        await using var bob = await FleetClients.RegisteredAsync(Node(2), b, "bob");
        await alice.SendToAsync(a, b, "before");
        Assert.Equal("before", (await bob.ReceiveJsonAsync()).Str("description"));

        await Node(2).DisposeAsync(); // kill -9: no close frames, no goodbye to Redis; its lease runs for 4 s more.

        // At once, not after node_timeout: the publish reached no node, and the sender is told, as for an unknown peer.
        await alice.SendToAsync(a, b, "lost?");
        var echo = await alice.ReceiveJsonAsync();
        Assert.Equal(RelayDeliveryErrorsText(b), echo.Str("error"));
        Assert.Equal("lost?", echo.Str("description"));

        // Bob reconnects (through a load balancer: here to node-3) and registers the same UUID while node-2's lease
        // still runs: the take-over finds no node to close the old socket on and goes ahead.
        await using var bobAgain = await FleetClients.RegisteredAsync(Node(3), b, "bob");
        await alice.SendToAsync(a, b, "after");
        Assert.Equal("after", (await bobAgain.ReceiveJsonAsync()).Str("description"));

        // Within node_timeout (+ a heartbeat) the live nodes sweep what node-2 left; nothing of it stays in Redis.
        await TaskTimeoutExtensions.WaitUntilAsync(async () =>
            await Fleet.Redis.CliAsync("EXISTS", "{peerrelay}:nc:node-2", "{peerrelay}:n:node-2") == "0"
            && await Fleet.Redis.CliAsync("SISMEMBER", "{peerrelay}:nodes", "node-2") == "0");
        Assert.Equal("node-3", await Fleet.Redis.CliAsync("HGET", $"{{peerrelay}}:c:{b}", "n"));
    }

    [Fact]
    public async Task RedisStopped_NodesKeepRoutingTheirOwn_CrossNodeFails_ReadyzDegraded_ThenAllRecovers()
    {
        // Redis is away for less than node_timeout here: the nodes keep their clients and claim them again.
        await StartFleetAsync(clusterToml: "node_timeout = 30");
        Guid a = Guid.NewGuid(), b = Guid.NewGuid(), c = Guid.NewGuid();
        await using var alice = await FleetClients.RegisteredAsync(Node(1), a, "alice");
        await using var bob = await FleetClients.RegisteredAsync(Node(1), b, "bob");
        await using var carol = await FleetClients.RegisteredAsync(Node(2), c, "carol");
        using var http = new HttpClient();
        var readyz = new Uri($"http://127.0.0.1:{Node(1).Port}/readyz");
        Assert.Equal("ready\n", await http.GetStringAsync(readyz));

        await Fleet.Redis.StopAsync();

        // No crash; same-node routing goes on.
        await alice.SendToAsync(a, b, "local");
        Assert.Equal("local", (await bob.ReceiveJsonAsync()).Str("description"));

        // Across nodes: the sender gets an error, at once.
        await alice.SendToAsync(a, c, "remote");
        var echo = await alice.ReceiveJsonAsync();
        Assert.StartsWith($"Cannot forward peer connection message to peer {c}", echo.Str("error"));

        // Registrations cannot be checked: refused with 1013, which clients retry.
        await using (var late = await TestRelayClient.ConnectAsync(Node(1).Uri!))
        {
            await late.SendTextAsync(TestRelayClient.Registration(Guid.NewGuid()));
            Assert.Equal(RelayCloseCodes.TryAgainLater, (await late.ReceiveCloseAsync()).Code);
        }

        // Readiness says the node is degraded (liveness stays up: it still serves its clients).
        await TaskTimeoutExtensions.WaitUntilAsync(async () => (await http.GetStringAsync(readyz)).StartsWith("degraded", StringComparison.Ordinal));
        Assert.True((await http.GetAsync(new Uri($"http://127.0.0.1:{Node(1).Port}/healthz"))).IsSuccessStatusCode);

        // Redis comes back empty, within node_timeout: every node claims its clients again; routing across nodes works.
        await Fleet.Redis.RestartAsync();
        await TaskTimeoutExtensions.WaitUntilAsync(async () => await Fleet.Redis.CliAsync("EXISTS", $"{{peerrelay}}:c:{c}") == "1");

        // Each node's subscription to its channel comes back on its own reconnect: until then a forward to it is
        // answered with an error (never lost), so wait for all three before expecting delivery.
        await TaskTimeoutExtensions.WaitUntilAsync(async () =>
            (await Fleet.Redis.CliAsync("PUBSUB", "CHANNELS", "{peerrelay}:ch:*")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length == 3);
        // Until every node has renewed its lease and claimed its clients again in the new Redis (and a sweep has had
        // its say), a forward may still come back with an error: probe until one arrives, none lost.
        await FleetClients.AwaitForwardingAsync(alice, a, carol, c);
        await TaskTimeoutExtensions.WaitUntilAsync(async () => await http.GetStringAsync(readyz) == "ready\n");
    }

    /// <summary>
    /// Redis loses its data (FLUSHALL: as a restart without persistence, or a failover to a replica behind) and a client
    /// registers on node-1 before node-1's next heartbeat: Redis holds no lease of node-1. That registration alone is
    /// refused with 1013 (retried); node-1's registered clients stay, and its next heartbeat renews the lease and claims
    /// them again.
    /// </summary>
    [Fact]
    public async Task RedisLosesItsData_ARegistrationBeforeTheNextHeartbeat_IsRefusedAlone_TheNodesClientsStay()
    {
        // A long heartbeat: node-1 renews next about 10 s after it started, long after the steps below.
        await StartFleetAsync(2, clusterToml: "heartbeat_interval = 10\nnode_timeout = 30");
        Guid a = Guid.NewGuid(), n = Guid.NewGuid();
        await using var alice = await FleetClients.RegisteredAsync(Node(1), a, "alice");

        Assert.Equal("OK", await Fleet.Redis.CliAsync("FLUSHALL"));

        await using (var newcomer = await TestRelayClient.ConnectAsync(Node(1).Uri!))
        {
            await newcomer.SendTextAsync(TestRelayClient.Registration(n));
            var (code, reason) = await newcomer.ReceiveCloseAsync();
            Assert.Equal(RelayCloseCodes.TryAgainLater, code);
            Assert.Contains("registry is unavailable", reason, StringComparison.Ordinal);
        }

        // Node-1 claims alice again in Redis (its heartbeat came sooner for the refusal; alice was never closed) ...
        var node1 = Fleet.NodeIdOf(Node(1));
        await TaskTimeoutExtensions.WaitUntilAsync(async () => await Fleet.Redis.CliAsync("HGET", $"{{peerrelay}}:c:{a}", "n") == node1);

        // ... the newcomer registers at a retry, and reaches her on the socket she had all along.
        await using var newcomerAgain = await FleetClients.RegisterWhenReadyAsync(Node(1), n);
        await newcomerAgain.SendToAsync(n, a, "still there?");
        Assert.Equal("still there?", (await alice.ReceiveJsonAsync()).Str("description"));
        await Node(1).WaitForLineAsync(line => line.Contains($"Refused the registration of {n} with 1013: Redis holds no lease", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RedisFrozenLongerThanNodeTimeout_NodesCloseTheirClientsWith1013_NeverHoldingAUuidTwice()
    {
        await StartFleetAsync();
        Guid a = Guid.NewGuid(), c = Guid.NewGuid();
        await using var alice = await FleetClients.RegisteredAsync(Node(1), a, "alice");
        await using var carol = await FleetClients.RegisteredAsync(Node(2), c, "carol");

        Fleet.Redis.Freeze(); // SIGSTOP: connections stay open, nothing is answered.

        // No lease can be renewed: before it may have run out in Redis, each node gives its clients up with 1013
        // (never 4004, which ProxyStore's client treats as final), so they can register again elsewhere.
        var (aliceCode, aliceReason) = await alice.ReceiveUntilCloseAsync();
        var (carolCode, _) = await carol.ReceiveUntilCloseAsync();
        Assert.Equal(RelayCloseCodes.TryAgainLater, aliceCode);
        Assert.Equal(RelayCloseCodes.TryAgainLater, carolCode);
        Assert.Contains("lease", aliceReason, StringComparison.Ordinal);

        Fleet.Redis.Thaw();

        // Back: the nodes renew their leases and clients register again and reach each other.
        await using var aliceAgain = await FleetClients.RegisterWhenReadyAsync(Node(1), a);
        await using var carolAgain = await FleetClients.RegisterWhenReadyAsync(Node(3), c);
        await aliceAgain.SendToAsync(a, c, "again");
        Assert.Equal("again", (await carolAgain.ReceiveJsonAsync()).Str("description"));
    }

    [Fact]
    public async Task Sigterm_OneNode_ItsClientsMoveToOthers_NoMessageLostBetweenTheOthers()
    {
        await StartFleetAsync();
        Guid a = Guid.NewGuid(), b = Guid.NewGuid(), d = Guid.NewGuid();
        await using var alice = await FleetClients.RegisteredAsync(Node(2), a, "alice");
        await using var bob = await FleetClients.RegisteredAsync(Node(3), b, "bob");
        await using var dave = await FleetClients.RegisteredAsync(Node(1), d, "dave");

        // Alice streams to Bob (node-2 to node-3) while node-1 drains.
        const int count = 300;
        var streaming = Task.Run(async () =>
        {
            for (var i = 0; i < count; i++)
            {
                await alice.SendToAsync(a, b, $"s{i}");
            }
        });

        Node(1).Terminate();
        Assert.Equal(RelayCloseCodes.GoingAway, (await dave.ReceiveUntilCloseAsync()).Code);
        Assert.Equal(0, await Node(1).WaitForExitAsync());

        // Dave reconnects elsewhere and is reachable from both other nodes.
        await using var daveAgain = await FleetClients.RegisteredAsync(Node(3), d, "dave");
        await streaming.WithTimeout();
        for (var i = 0; i < count; i++)
        {
            Assert.Equal($"s{i}", (await bob.ReceiveJsonAsync()).Str("description"));
        }

        await alice.SendToAsync(a, d, "found");
        Assert.Equal("found", (await daveAgain.ReceiveJsonAsync()).Str("description"));

        // The drained node left the fleet: its lease and registrations are gone at once, not after node_timeout.
        Assert.Equal("0", await Fleet.Redis.CliAsync("EXISTS", "{peerrelay}:n:node-1", "{peerrelay}:nc:node-1"));
    }

    private static string RelayDeliveryErrorsText(Guid peer) =>
        $"Cannot forward peer connection message to peer {peer} because this peer is not registered with this relay server.";
}
