using System.Net.WebSockets;
using System.Text;
using PeerRelay.Protocol;
using PeerRelay.Testing;

namespace PeerRelay.Server.Tests;

/// <summary>Each decoding rule, over a real socket: close 4000 with the reference's reason, others unaffected.</summary>
public sealed class ProtocolErrorTests
{
    public static TheoryData<string> BadMessages => new()
    {
        "not json at all",
        "[1, 2, 3]",
        "\"a string\"",
        "42",
        """{"name": "a", "uuid": "00000000-0000-0000-0000-000000000001"}""",
        """{"name": "a", "uuid": "00000000-0000-0000-0000-000000000001", "message_type": "hello"}""",
        """{"name": "a", "uuid": "00000000-0000-0000-0000-000000000001", "x": 1, "message_type": "relay_registration"}""",
        """{"uuid": "00000000-0000-0000-0000-000000000001", "message_type": "relay_registration"}""",
        """{"name": "a", "uuid": "not-a-uuid", "message_type": "relay_registration"}""",
        """{"name": 7, "uuid": "00000000-0000-0000-0000-000000000001", "message_type": "relay_registration"}""",
        """{"success": true, "message": null, "error": false, "message_type": "relay_response"}""",
        """{"source_uuid": "00000000-0000-0000-0000-000000000001", "source_name": "a", "peer_uuid": "bad", "description_type": "offer", "description": "d", "error": null, "message_type": "peer_connection"}""",
    };

    [Theory]
    [MemberData(nameof(BadMessages))]
    public async Task BadMessage_Closes4000_OthersUnaffected(string message)
    {
        await using var server = await RelayTestServer.StartAsync();
        var (bystander, bystanderId) = await ForwardingTests.ConnectRegisteredAsync(server);
        await using var _b = bystander;
        var (client, _) = await ForwardingTests.ConnectRegisteredAsync(server);
        await using var _c = client;

        await client.SendTextAsync(message);
        var (code, reason) = await client.ReceiveCloseAsync();
        Assert.Equal(RelayCloseCodes.UnknownMessage, code);
        Assert.Equal("Unknown message type.", reason);
        await TaskTimeoutExtensions.WaitUntil(() => server.RegisteredCount() == 1);

        await bystander.SendTextAsync(TestRelayClient.PeerConnection(bystanderId, bystanderId, description: "ok"));
        Assert.Equal("ok", (await bystander.ReceiveJsonAsync())["description"]!.GetValue<string>());
    }

    [Fact]
    public async Task BinaryFrame_Closes4000()
    {
        await using var server = await RelayTestServer.StartAsync();
        await using var client = await TestRelayClient.ConnectAsync(server.Uri);
        await client.SendBytesAsync(Encoding.UTF8.GetBytes(TestRelayClient.Registration(Guid.NewGuid())), WebSocketMessageType.Binary);
        Assert.Equal((4000, "Unknown message type."), await client.ReceiveCloseAsync());
    }

    [Fact]
    public async Task MaxMessageBytes_Exceeded_Closes4003_LimitItselfAccepted()
    {
        const int Limit = 1000;
        await using var server = await RelayTestServer.StartAsync(o => o.MaxMessageBytes = Limit);
        var (client, id) = await ForwardingTests.ConnectRegisteredAsync(server);
        await using var _c = client;

        var template = TestRelayClient.PeerConnection(id, id, description: "");
        var exact = TestRelayClient.PeerConnection(id, id, description: new string('a', Limit - Encoding.UTF8.GetByteCount(template)));
        Assert.Equal(Limit, Encoding.UTF8.GetByteCount(exact));
        await client.SendTextAsync(exact);
        Assert.Null((await client.ReceiveJsonAsync())["error"]);

        var over = TestRelayClient.PeerConnection(id, id, description: new string('a', Limit - Encoding.UTF8.GetByteCount(template) + 1));
        await client.SendTextAsync(over);
        Assert.Equal((4003, "Message length exceeds limit."), await client.ReceiveCloseAsync());
    }

    [Fact]
    public async Task TransportLimit_Exceeded_Closes1009()
    {
        await using var server = await RelayTestServer.StartAsync();
        await using var client = await TestRelayClient.ConnectAsync(server.Uri);
        var payload = new byte[RelayServerOptions.DefaultTransportMaxMessageBytes + 1];
        payload.AsSpan().Fill((byte)'x');
        await client.SendBytesAsync(payload);
        Assert.Equal(1009, (await client.ReceiveCloseAsync()).Code);
    }

    [Fact]
    public async Task OversizedMessage_IsRefusedWhileReading_NotAfterBufferingIt()
    {
        // A 64 MiB message against a 1 MiB limit: the server closes after about 1 MiB. The client then fails to send
        // the rest, which proves the server did not read (and buffer) the whole message first.
        await using var server = await RelayTestServer.StartAsync();
        await using var client = await TestRelayClient.ConnectAsync(server.Uri);
        var chunk = new byte[1 << 20];
        chunk.AsSpan().Fill((byte)'x');
        var sendFailed = false;
        try
        {
            for (var i = 0; i < 64; i++)
            {
                await client.Socket.SendAsync(chunk, WebSocketMessageType.Text, endOfMessage: false, CancellationToken.None).WithTimeout();
            }
        }
        catch (Exception ex) when (ex is WebSocketException or IOException)
        {
            sendFailed = true;
        }

        if (!sendFailed)
        {
            Assert.Equal(1009, (await client.ReceiveCloseAsync()).Code);
        }

        Assert.True(sendFailed || client.Socket.CloseStatus == (WebSocketCloseStatus)1009);
    }

    [Fact]
    public async Task FragmentedMessage_IsReassembled()
    {
        await using var server = await RelayTestServer.StartAsync();
        await using var client = await TestRelayClient.ConnectAsync(server.Uri);
        var bytes = Encoding.UTF8.GetBytes(TestRelayClient.Registration(Guid.NewGuid()));
        for (var i = 0; i < bytes.Length; i++)
        {
            await client.Socket.SendAsync(bytes.AsMemory(i, 1), WebSocketMessageType.Text, i == bytes.Length - 1, CancellationToken.None);
        }

        Assert.True((await client.ReceiveJsonAsync())["success"]!.GetValue<bool>());
    }
}
