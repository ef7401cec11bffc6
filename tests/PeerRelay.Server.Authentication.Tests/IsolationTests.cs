using PeerRelay.Protocol;
using PeerRelay.Testing;

namespace PeerRelay.Server.Authentication.Tests;

/// <summary>Per-user isolation over real WebSockets, with two users holding JWTs signed by the test's provider.</summary>
public sealed class IsolationTests : IAsyncLifetime
{
    private IdentityServer _identity = null!;
    private RelayTestServer _relay = null!;

    public async Task InitializeAsync()
    {
        _identity = await IdentityServer.StartAsync();
        _relay = await RelayTestServer.StartAsync(relay: r => r.AddJwtAuthentication(o =>
        {
            o.Issuer = _identity.Issuer;
            o.Audiences.Add(IdentityServer.Audience);
            o.JwksUrl = _identity.JwksUrl;
        }));
    }

    public async Task DisposeAsync()
    {
        await _relay.DisposeAsync();
        await _identity.DisposeAsync();
    }

    [Fact]
    public async Task ForwardToAnotherUsersPeer_IsEchoedWithTheUnknownPeerText()
    {
        await using var alice = await ConnectAsAsync("alice");
        await using var bob = await ConnectAsAsync("bob");
        var (aliceId, bobId, nobodyId) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await alice.RegisterAsync(aliceId);
        await bob.RegisterAsync(bobId);

        await alice.SendTextAsync(TestRelayClient.PeerConnection(aliceId, bobId, description: "to-bob"));
        var toBob = await alice.ReceiveJsonAsync();
        await alice.SendTextAsync(TestRelayClient.PeerConnection(aliceId, nobodyId, description: "to-nobody"));
        var toNobody = await alice.ReceiveJsonAsync();

        var bobError = toBob["error"]!.GetValue<string>();
        var nobodyError = toNobody["error"]!.GetValue<string>();
        Assert.StartsWith($"Cannot forward peer connection message to peer {bobId}", bobError);
        Assert.Equal(nobodyError.Replace(nobodyId.ToString(), "PEER", StringComparison.Ordinal), bobError.Replace(bobId.ToString(), "PEER", StringComparison.Ordinal));
        Assert.Equal("to-bob", toBob["description"]!.GetValue<string>());

        // Bob never saw it: the next thing he gets is a message from his own second endpoint.
        await using var bob2 = await ConnectAsAsync("bob");
        var bob2Id = Guid.NewGuid();
        await bob2.RegisterAsync(bob2Id);
        await bob2.SendTextAsync(TestRelayClient.PeerConnection(bob2Id, bobId, description: "from-bob2"));
        Assert.Equal("from-bob2", (await bob.ReceiveJsonAsync())["description"]!.GetValue<string>());
    }

    [Fact]
    public async Task RegisterUuidHeldByAnotherUser_Closes4002_AndLeavesTheOwnerRegistered()
    {
        await using var bob = await ConnectAsAsync("bob");
        var bobId = Guid.NewGuid();
        await bob.RegisterAsync(bobId);

        await using var mallory = await ConnectAsAsync("mallory");
        await mallory.SendTextAsync(TestRelayClient.Registration(bobId, "bob-laptop"));
        var (code, reason) = await mallory.ReceiveCloseAsync();
        Assert.Equal(RelayCloseCodes.Forbidden, code);
        Assert.Equal($"ForbiddenError: The client UUID {bobId} is already registered to another user.", reason);

        await using var bob2 = await ConnectAsAsync("bob");
        var bob2Id = Guid.NewGuid();
        await bob2.RegisterAsync(bob2Id);
        await bob2.SendTextAsync(TestRelayClient.PeerConnection(bob2Id, bobId, description: "still-there"));
        Assert.Equal("still-there", (await bob.ReceiveJsonAsync())["description"]!.GetValue<string>());
    }

    [Fact]
    public async Task ForwardedMessage_CarriesTheSendersRegisteredIdentity()
    {
        await using var a1 = await ConnectAsAsync("alice");
        await using var a2 = await ConnectAsAsync("alice");
        var (a1Id, a2Id, spoofed) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        await a1.RegisterAsync(a1Id, "alpha");
        await a2.RegisterAsync(a2Id, "beta");

        await a1.SendTextAsync(TestRelayClient.PeerConnection(spoofed, a2Id, sourceName: "somebody-else"));
        var received = await a2.ReceiveJsonAsync();
        Assert.Equal(a1Id.ToString(), received["source_uuid"]!.GetValue<string>());
        Assert.Equal("alpha", received["source_name"]!.GetValue<string>());
    }

    private Task<TestRelayClient> ConnectAsAsync(string user) =>
        Connect.WithBearerAsync(_relay.Uri, _identity.Sign(_identity.RsaKey, sub: user));
}
