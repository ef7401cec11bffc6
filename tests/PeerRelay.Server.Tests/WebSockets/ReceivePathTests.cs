using System.Text;
using System.Text.Json.Nodes;
using PeerRelay.Server.Hosting;
using PeerRelay.Testing;

namespace PeerRelay.Server.Tests.WebSockets;

/// <summary>
/// How the receive pump takes bytes that do not arrive one message per read, over a live relay (on the suite's
/// transport: with PeerRelay's socket transports the pump reads the socket directly, RelayConnection.Direct.cs):
/// messages written in the same TCP write as the upgrade request, messages behind a registration that waits for its
/// authenticator, and frames whose header and payload arrive one byte per write.
/// </summary>
public sealed class ReceivePathTests
{
    [Fact]
    public async Task MessagesWrittenWithTheUpgrade_AndBehindARegistrationThatWaits_AreHandledInOrder()
    {
        // The authenticator runs on the thread pool, so the registration waits with the two forwards already read
        // behind it: the pump keeps them, and handles them once the registration is done.
        await using var server = await RelayTestServer.StartAsync(relay: r => r.UseAuthenticator(new HeaderUserAuthenticator()));
        await using var peer = await TestRelayClient.ConnectAsync(server.Uri);
        var (me, them) = (Guid.NewGuid(), Guid.NewGuid());
        await peer.RegisterAsync(them, "them");

        using var raw = await RawWebSocket.OpenAsync(server.Uri.Port).WithTimeout();
        byte[] all =
        [
            .. Encoding.ASCII.GetBytes(
                $"GET / HTTP/1.1\r\nHost: 127.0.0.1:{server.Uri.Port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"),
            .. RawWebSocket.TextFrame(TestRelayClient.Registration(me, "me")),
            .. RawWebSocket.TextFrame(TestRelayClient.PeerConnection(me, them, "one", sourceName: "me")),
            .. RawWebSocket.TextFrame(TestRelayClient.PeerConnection(me, them, "two", sourceName: "me")),
        ];
        await raw.SendRawAsync(all).WithTimeout();

        Assert.StartsWith("HTTP/1.1 101", await raw.ReadHeadAsync().WithTimeout(), StringComparison.Ordinal);
        var (first, _, payload) = await raw.ReadWholeFrameAsync().WithTimeout() ?? throw new EndOfStreamException();
        Assert.Equal(0x81, first);
        var response = JsonNode.Parse(payload)!;
        Assert.Equal("relay_response", response["message_type"]!.GetValue<string>());
        Assert.True(response["success"]!.GetValue<bool>());

        Assert.Equal("one", (await peer.ReceiveJsonAsync())["description"]!.GetValue<string>());
        Assert.Equal("two", (await peer.ReceiveJsonAsync())["description"]!.GetValue<string>());
    }

    [Fact]
    public async Task FramesArrivingOneBytePerWrite_AndALargeMessage_AreForwardedWhole()
    {
        await using var server = await RelayTestServer.StartAsync();
        await using var peer = await TestRelayClient.ConnectAsync(server.Uri);
        var (me, them) = (Guid.NewGuid(), Guid.NewGuid());
        await peer.RegisterAsync(them, "them");

        using var raw = await RawWebSocket.ConnectAsync(server.Uri.Port).WithTimeout();
        await raw.SendRawAsync(RawWebSocket.TextFrame(TestRelayClient.Registration(me, "me"))).WithTimeout();
        Assert.NotNull(await raw.ReadWholeFrameAsync().WithTimeout());

        // A frame split into single bytes (its header too), then one larger than a read (several receives, a 16-bit
        // length), then a small one in the same write as the large one's end.
        await raw.SendSplitAsync(RawWebSocket.TextFrame(TestRelayClient.PeerConnection(me, them, "split", sourceName: "me")), chunk: 1).WithTimeout();
        var large = new string('x', 20_000);
        byte[] both = [.. RawWebSocket.TextFrame(TestRelayClient.PeerConnection(me, them, large, sourceName: "me")), .. RawWebSocket.TextFrame(TestRelayClient.PeerConnection(me, them, "after", sourceName: "me"))];
        await raw.SendSplitAsync(both, chunk: 7_000).WithTimeout();

        Assert.Equal("split", (await peer.ReceiveJsonAsync())["description"]!.GetValue<string>());
        Assert.Equal(large, (await peer.ReceiveJsonAsync())["description"]!.GetValue<string>());
        Assert.Equal("after", (await peer.ReceiveJsonAsync())["description"]!.GetValue<string>());
    }
}
