using System.Diagnostics;
using PeerRelay.Protocol;
using PeerRelay.Testing;

namespace PeerRelay.Server.Redis.Tests;

/// <summary>Three peerrelay processes and one redis-server, shared by the tests of this class (none kills a node).</summary>
public sealed class FleetFixture : IAsyncLifetime
{
    public RelayFleet Fleet { get; private set; } = null!;

    public async Task InitializeAsync() => Fleet = await RelayFleet.StartAsync(3);

    public async Task DisposeAsync() => await Fleet.DisposeAsync();
}

/// <summary>Issue 14: forwarding and ownership across nodes, on real processes.</summary>
public sealed class ForwardingAcrossNodesTests(FleetFixture fixture) : IClassFixture<FleetFixture>
{
    private RelayProcess Node(int i) => fixture.Fleet.Nodes[i - 1];

    [Fact]
    public async Task Forward_ToPeerOnAnotherNode_ArrivesStampedWithSenderIdentity_InOrder()
    {
        Guid a = Guid.NewGuid(), b = Guid.NewGuid();
        await using var alice = await FleetClients.RegisteredAsync(Node(1), a, "alice");
        await using var bob = await FleetClients.RegisteredAsync(Node(2), b, "bob");

        const int count = 200;
        for (var i = 0; i < count; i++)
        {
            // A forged source: the relay stamps the registered identity, as on one node.
            await alice.SendToAsync(Guid.NewGuid(), b, $"m{i}", sourceName: "mallory");
        }

        for (var i = 0; i < count; i++)
        {
            var message = await bob.ReceiveJsonAsync();
            Assert.Equal("peer_connection", message.Str("message_type"));
            Assert.Equal($"m{i}", message.Str("description"));
            Assert.Equal(a.ToString(), message.Str("source_uuid"));
            Assert.Equal("alice", message.Str("source_name"));
            Assert.Equal(b.ToString(), message.Str("peer_uuid"));
            Assert.Null(message["error"]);
        }

        await bob.SendToAsync(b, a, "answer");
        var answer = await alice.ReceiveJsonAsync();
        Assert.Equal("answer", answer.Str("description"));
        Assert.Equal("bob", answer.Str("source_name"));
    }

    [Fact]
    public async Task Forward_ToUnknownUuid_ComesBackWithTheSingleNodeError()
    {
        var a = Guid.NewGuid();
        var nobody = Guid.NewGuid();
        await using var alice = await FleetClients.RegisteredAsync(Node(1), a, "alice");

        await alice.SendToAsync(a, nobody, "offer");

        var echo = await alice.ReceiveJsonAsync();
        Assert.Equal($"Cannot forward peer connection message to peer {nobody} because this peer is not registered with this relay server.", echo.Str("error"));
        Assert.Equal(nobody.ToString(), echo.Str("peer_uuid"));
        Assert.Equal(a.ToString(), echo.Str("source_uuid"));
        Assert.Equal("offer", echo.Str("description"));
    }

    [Fact]
    public async Task Register_SameUuidOnAnotherNode_ClosesOldWith4004_BeforeTheNewIsConfirmed()
    {
        var uuid = Guid.NewGuid();
        await using var old = await FleetClients.RegisteredAsync(Node(1), uuid, "first");
        await using var fresh = await TestRelayClient.ConnectAsync(Node(3).Uri!);

        var confirmed = Task.Run(async () =>
        {
            await fresh.RegisterAsync(uuid, "second");
            return Stopwatch.GetTimestamp();
        });

        // The old client reads the 4004 and does not answer it: node-1 waits close_timeout (2 s), then aborts it.
        var (code, reason) = await old.ReceiveCloseWithoutAnsweringAsync();
        var closeSeen = Stopwatch.GetTimestamp();
        Assert.Equal(RelayCloseCodes.DuplicateRegistration, code);
        Assert.Equal(RelayCloseCodes.DuplicateRegistrationReason, reason);

        // Ordering, not speed: an answer sent before the old socket's close completed would come within milliseconds.
        var answered = await confirmed.WithTimeout();
        Assert.True(Stopwatch.GetElapsedTime(closeSeen, answered) >= TimeSpan.FromSeconds(1.5), "the new registration was confirmed before the old socket's close completed");

        // The UUID now lives on node-3 for every node.
        var peer = Guid.NewGuid();
        await using var other = await FleetClients.RegisteredAsync(Node(2), peer, "peer");
        await other.SendToAsync(peer, uuid, "hello");
        Assert.Equal("hello", (await fresh.ReceiveJsonAsync()).Str("description"));
    }

    [Fact]
    public async Task Register_SameUuidOnAnotherNode_OldAnswersTheClose_NewOneServedAndOldReleased()
    {
        var uuid = Guid.NewGuid();
        await using var old = await FleetClients.RegisteredAsync(Node(2), uuid, "first");
        await using var fresh = await TestRelayClient.ConnectAsync(Node(1).Uri!);
        var registering = fresh.RegisterAsync(uuid, "second");

        Assert.Equal(RelayCloseCodes.DuplicateRegistration, (await old.ReceiveCloseAsync()).Code);
        await registering.WithTimeout();

        // A client on the old node reaches the new holder, not the closed socket.
        var peer = Guid.NewGuid();
        await using var neighbour = await FleetClients.RegisteredAsync(Node(2), peer, "neighbour");
        await neighbour.SendToAsync(peer, uuid, "after");
        Assert.Equal("after", (await fresh.ReceiveJsonAsync()).Str("description"));
    }

    [Fact]
    public async Task Register_SameUuidOnTheSameNode_InAFleet_TakesOverLocally()
    {
        var uuid = Guid.NewGuid();
        await using var old = await FleetClients.RegisteredAsync(Node(2), uuid, "first");
        await using var fresh = await TestRelayClient.ConnectAsync(Node(2).Uri!);
        var registering = fresh.RegisterAsync(uuid, "second");
        Assert.Equal(RelayCloseCodes.DuplicateRegistration, (await old.ReceiveCloseAsync()).Code);
        await registering.WithTimeout();

        var peer = Guid.NewGuid();
        await using var remote = await FleetClients.RegisteredAsync(Node(3), peer, "remote");
        await remote.SendToAsync(peer, uuid, "x");
        Assert.Equal("x", (await fresh.ReceiveJsonAsync()).Str("description"));
    }

    [Fact]
    public async Task Close_OfAClient_ReleasesItsUuidForTheFleet()
    {
        var uuid = Guid.NewGuid();
        var peer = Guid.NewGuid();
        await using var sender = await FleetClients.RegisteredAsync(Node(1), peer, "sender");
        await using (var gone = await FleetClients.RegisteredAsync(Node(3), uuid, "gone"))
        {
            await gone.CloseAsync();
        }

        await TaskTimeoutExtensions.WaitUntilAsync(async () => await fixture.Fleet.Redis.CliAsync("EXISTS", $"{{peerrelay}}:c:{uuid}") == "0");
        await sender.SendToAsync(peer, uuid, "late");
        Assert.StartsWith($"Cannot forward peer connection message to peer {uuid}", (await sender.ReceiveJsonAsync()).Str("error"));
    }
}
