using PeerRelay.Protocol;
using PeerRelay.Server.Authentication.Tests;
using PeerRelay.Testing;

namespace PeerRelay.Server.Redis.Tests;

/// <summary>A fleet with JWT authentication and max_clients_per_user = 2: ownership and limits hold on every node.</summary>
public sealed class MultiUserFleetTests : IAsyncLifetime
{
    private IdentityServer _identity = null!;
    private RelayFleet _fleet = null!;

    public async Task InitializeAsync()
    {
        _identity = await IdentityServer.StartAsync();
        _fleet = await RelayFleet.StartAsync(3, extraToml: $"""
            max_clients_per_user = 2

            {_identity.JwtAuthToml}
            """);
    }

    public async Task DisposeAsync()
    {
        await _fleet.DisposeAsync();
        await _identity.DisposeAsync();
    }

    private RelayProcess Node(int i) => _fleet.Nodes[i - 1];

    private string Token(string user) => _identity.Sign(_identity.RsaKey, sub: user);

    [Fact]
    public async Task Register_UuidOfAnotherUser_IsRefusedWith4002_OnEveryNode()
    {
        var uuid = Guid.NewGuid();
        await using var alice = await FleetClients.RegisteredAsync(Node(1), uuid, "alice", Token("alice"));

        foreach (var node in new[] { Node(1), Node(2), Node(3) })
        {
            await using var mallory = await Connect.WithBearerAsync(node.Uri!, Token("mallory"));
            await mallory.SendTextAsync(TestRelayClient.Registration(uuid));
            var (code, reason) = await mallory.ReceiveCloseAsync();
            Assert.Equal(RelayCloseCodes.Forbidden, code);
            Assert.Equal($"ForbiddenError: The client UUID {uuid} is already registered to another user.", reason);
        }

        // Alice's registration was never disturbed, and another user cannot reach it either (the same error as unknown).
        var other = Guid.NewGuid();
        await using var bob = await FleetClients.RegisteredAsync(Node(2), other, "bob", Token("bob"));
        await bob.SendToAsync(other, uuid, "hi");
        Assert.Equal($"Cannot forward peer connection message to peer {uuid} because this peer is not registered with this relay server.", (await bob.ReceiveJsonAsync()).Str("error"));
        var self = Guid.NewGuid();
        await using var alice2 = await FleetClients.RegisteredAsync(Node(3), self, "alice2", Token("alice"));
        await alice2.SendToAsync(self, uuid, "mine");
        Assert.Equal("mine", (await alice.ReceiveJsonAsync()).Str("description"));
    }

    [Fact]
    public async Task MaxClientsPerUser_CountsAcrossNodes_AndATakeOverIsNeverRefused()
    {
        Guid first = Guid.NewGuid(), second = Guid.NewGuid();
        await using var a1 = await FleetClients.RegisteredAsync(Node(1), first, "a1", Token("carol"));
        await using var a2 = await FleetClients.RegisteredAsync(Node(2), second, "a2", Token("carol"));

        // A third UUID of the same user, on the third node: over the limit of 2 counted over the fleet.
        await using (var a3 = await Connect.WithBearerAsync(Node(3).Uri!, Token("carol")))
        {
            await a3.SendTextAsync(TestRelayClient.Registration(Guid.NewGuid()));
            var refusal = await a3.ReceiveJsonAsync();
            Assert.False(refusal["success"]!.GetValue<bool>());
            Assert.StartsWith("TooManyClientsError:", refusal.Str("message"));
            Assert.Equal(RelayCloseCodes.PolicyViolation, (await a3.ReceiveCloseAsync()).Code);
        }

        // Another user is not affected.
        await using var d1 = await FleetClients.RegisteredAsync(Node(3), Guid.NewGuid(), "d1", Token("dan"));

        // Re-registering one of the two UUIDs on another node is a take-over, not a third client.
        await using var a1Again = await Connect.WithBearerAsync(Node(3).Uri!, Token("carol"));
        var registering = a1Again.RegisterAsync(first, "a1-again");
        Assert.Equal(RelayCloseCodes.DuplicateRegistration, (await a1.ReceiveCloseAsync()).Code);
        await registering.WithTimeout();

        // Once a client leaves, its slot is free on every node.
        await a2.CloseAsync();
        await TaskTimeoutExtensions.WaitUntilAsync(async () => await _fleet.Redis.CliAsync("SCARD", "{peerrelay}:u:carol") == "1");
        await using var a4 = await FleetClients.RegisteredAsync(Node(1), Guid.NewGuid(), "a4", Token("carol"));
    }
}
