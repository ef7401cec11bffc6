using PeerRelay.Protocol;
using PeerRelay.Server.Hosting;
using PeerRelay.Testing;

namespace PeerRelay.Server.Tests;

public sealed class ForwardingTests
{
    [Fact]
    public async Task Forward_ToRegisteredPeer_DeliversWithSendersRegisteredIdentity()
    {
        await using var server = await RelayTestServer.StartAsync();
        var (a, aId) = await ConnectRegisteredAsync(server, "alice-laptop");
        var (b, bId) = await ConnectRegisteredAsync(server, "bob-laptop");
        await using var _a = a;
        await using var _b = b;

        // The sender lies about who it is; the relay stamps its registered uuid and name.
        var liar = Guid.NewGuid();
        await a.SendTextAsync(TestRelayClient.PeerConnection(liar, bId, description: "v=0", sourceName: "someone-else"));
        Assert.Equal(
            $$"""{"source_uuid": "{{aId}}", "source_name": "alice-laptop", "peer_uuid": "{{bId}}", "description_type": "offer", "description": "v=0", "error": null, "message_type": "peer_connection"}""",
            await b.ReceiveTextAsync());
    }

    [Fact]
    public async Task Forward_OtherJsonLayout_DeliveredInTheReferenceLayoutWithSendersIdentity()
    {
        await using var server = await RelayTestServer.StartAsync();
        var (a, aId) = await ConnectRegisteredAsync(server, "alice-laptop");
        var (b, bId) = await ConnectRegisteredAsync(server, "bob-laptop");
        await using var _a = a;
        await using var _b = b;

        // JSON.stringify's layout (no spaces, error omitted, upper-case UUID) and a forged source: decoded, stamped and
        // written as json.dumps writes it, as the reference layout is (which is forwarded without decoding).
        var liar = Guid.NewGuid();
        await a.SendTextAsync(
            $$"""{"source_name":"mallory","peer_uuid":"{{bId.ToString().ToUpperInvariant()}}","source_uuid":"{{liar}}","description_type":"offer","description":"v=0\r\n \u00e9","message_type":"peer_connection"}""");
        Assert.Equal(
            $$"""{"source_uuid": "{{aId}}", "source_name": "alice-laptop", "peer_uuid": "{{bId}}", "description_type": "offer", "description": "v=0\r\n \u00e9", "error": null, "message_type": "peer_connection"}""",
            await b.ReceiveTextAsync());

        // The reference layout with an error text: the bytes after source_name go through as they are.
        await a.SendTextAsync(
            $$"""{"source_uuid": "{{liar}}", "source_name": "mallory", "peer_uuid": "{{bId}}", "description_type": "answer", "description": "\"q\"", "error": "e\u00e9", "message_type": "peer_connection"}""");
        Assert.Equal(
            $$"""{"source_uuid": "{{aId}}", "source_name": "alice-laptop", "peer_uuid": "{{bId}}", "description_type": "answer", "description": "\"q\"", "error": "e\u00e9", "message_type": "peer_connection"}""",
            await b.ReceiveTextAsync());
    }

    [Fact]
    public async Task Forward_DescriptionWithEscapes_ArrivesIntact()
    {
        await using var server = await RelayTestServer.StartAsync();
        var (a, aId) = await ConnectRegisteredAsync(server);
        var (b, bId) = await ConnectRegisteredAsync(server);
        await using var _a = a;
        await using var _b = b;
        var sdp = "{\"sdp\": \"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n\", \"type\": \"answer\"} é 😀";
        await a.SendTextAsync(RelayCodec.EncodeToString(new PeerConnection(aId, "x", bId, "answer", sdp)));
        var delivered = Assert.IsType<PeerConnection>(RelayCodec.Decode(await b.ReceiveTextAsync()));
        Assert.Equal(sdp, delivered.Description);
        Assert.Equal("answer", delivered.DescriptionType);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)] // Through the MapPeerRelay endpoint (RelayWebSocketHandler) instead of the connection middleware.
    public async Task Forward_UnknownPeer_EchoesErrorAndKeepsConnectionOpen(bool connectionMiddleware)
    {
        await using var server = await RelayTestServer.StartAsync(connectionMiddleware: connectionMiddleware);
        var (a, aId) = await ConnectRegisteredAsync(server);
        await using var _a = a;
        var nobody = Guid.NewGuid();
        await a.SendTextAsync(TestRelayClient.PeerConnection(aId, nobody, description: "offer-sdp"));
        var echo = await a.ReceiveJsonAsync();
        Assert.Equal("peer_connection", echo["message_type"]!.GetValue<string>());
        Assert.Equal(nobody.ToString(), echo["peer_uuid"]!.GetValue<string>());
        Assert.Equal("offer-sdp", echo["description"]!.GetValue<string>());
        Assert.Equal(
            $"Cannot forward peer connection message to peer {nobody} because this peer is not registered with this relay server.",
            echo["error"]!.GetValue<string>());

        // Still open and usable.
        await a.SendTextAsync(TestRelayClient.PeerConnection(aId, aId, description: "to-self"));
        Assert.Equal("to-self", (await a.ReceiveJsonAsync())["description"]!.GetValue<string>());
    }

    [Fact]
    public async Task Forward_PeerOfOtherUser_SameTextAsUnknownPeer()
    {
        await using var server = await RelayTestServer.StartAsync(relay: r => r.UseAuthenticator(new HeaderUserAuthenticator()));
        var (a, aId) = await ConnectRegisteredAsync(server, user: "alice");
        var (b, bId) = await ConnectRegisteredAsync(server, user: "bob");
        await using var _a = a;
        await using var _b = b;
        await a.SendTextAsync(TestRelayClient.PeerConnection(aId, bId));
        var echo = await a.ReceiveJsonAsync();
        Assert.Equal(
            $"Cannot forward peer connection message to peer {bId} because this peer is not registered with this relay server.",
            echo["error"]!.GetValue<string>());

        // Bob received nothing: his next message is what he sends to himself.
        await b.SendTextAsync(TestRelayClient.PeerConnection(bId, bId, description: "mine"));
        Assert.Equal("mine", (await b.ReceiveJsonAsync())["description"]!.GetValue<string>());
    }

    [Fact]
    public async Task Forward_BeforeRegistering_Closes4002WithExactReason()
    {
        await using var server = await RelayTestServer.StartAsync();
        await using var client = await TestRelayClient.ConnectAsync(server.Uri);
        await client.SendTextAsync(TestRelayClient.PeerConnection(Guid.NewGuid(), Guid.NewGuid()));
        var (code, reason) = await client.ReceiveCloseAsync();
        Assert.Equal(4002, code);
        Assert.Equal("ForbiddenError: Client has not registered and authenticated with the relay server.", reason);
    }

    [Fact]
    public async Task Forward_AfterBeingTakenOver_IsNotDelivered()
    {
        await using var server = await RelayTestServer.StartAsync();
        var (old, id) = await ConnectRegisteredAsync(server);
        await using var _old = old;
        await using var fresh = await TestRelayClient.ConnectAsync(server.Uri);
        var oldClosed = old.ReceiveCloseAsync(); // The take-over is confirmed once the old client answered its 4004.
        await fresh.RegisterAsync(id);
        Assert.Equal(4004, (await oldClosed).Code);
        Assert.Equal(1, server.RegisteredCount());
    }

    internal static async Task<(TestRelayClient Client, Guid Id)> ConnectRegisteredAsync(RelayTestServer server, string name = "test", string? user = null)
    {
        var client = await TestRelayClient.ConnectAsync(server.Uri, o =>
        {
            if (user is not null)
            {
                o.SetRequestHeader("X-Test-User", user);
            }
        });
        var id = Guid.NewGuid();
        await client.RegisterAsync(id, name);
        return (client, id);
    }
}
