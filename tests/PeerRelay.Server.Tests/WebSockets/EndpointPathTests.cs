using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using PeerRelay.Protocol;
using PeerRelay.Server.Internal.WebSockets;
using PeerRelay.Testing;

namespace PeerRelay.Server.Tests.WebSockets;

/// <summary>
/// The relay served through <c>MapPeerRelay</c>'s endpoint (<see cref="Internal.RelayWebSocketHandler"/>) instead of the
/// connection middleware: a host without <c>UsePeerRelay()</c>, and an upgrade after a plain request on a keep-alive
/// connection, which the middleware leaves to HTTP/1.
/// </summary>
public sealed class EndpointPathTests
{
    [Fact]
    public async Task WithoutConnectionMiddleware_KestrelAnswersTheUpgrade()
    {
        // Kestrel puts a Date header on its 101; the connection middleware writes only the upgrade headers. This shows
        // that connectionMiddleware: false really sends the upgrade down the endpoint path the other tests are about.
        await using var endpointServer = await RelayTestServer.StartAsync(connectionMiddleware: false);
        await using var viaEndpoint = await TestRelayClient.ConnectAsync(endpointServer.Uri, o => o.CollectHttpResponseDetails = true);
        Assert.Equal(HttpStatusCode.SwitchingProtocols, viaEndpoint.Socket.HttpStatusCode);
        Assert.Contains(viaEndpoint.Socket.HttpResponseHeaders!.Keys, k => k.Equals("Date", StringComparison.OrdinalIgnoreCase));

        await using var middlewareServer = await RelayTestServer.StartAsync();
        await using var viaMiddleware = await TestRelayClient.ConnectAsync(middlewareServer.Uri, o => o.CollectHttpResponseDetails = true);
        Assert.Equal(HttpStatusCode.SwitchingProtocols, viaMiddleware.Socket.HttpStatusCode);
        Assert.DoesNotContain(viaMiddleware.Socket.HttpResponseHeaders!.Keys, k => k.Equals("Date", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The endpoint path refuses for load as the middleware does: an accepted upgrade closed with 1013.</summary>
    [Fact]
    public async Task WithoutConnectionMiddleware_OverTheConnectionLimit_ClosedWith1013()
    {
        await using var server = await RelayTestServer.StartAsync(o => o.MaxConnectionsPerIp = 1, connectionMiddleware: false);
        await using var holder = await TestRelayClient.ConnectAsync(server.Uri);
        await holder.RegisterAsync(Guid.NewGuid());
        await using var refused = await TestRelayClient.ConnectAsync(server.Uri, o => o.CollectHttpResponseDetails = true);
        Assert.Equal(HttpStatusCode.SwitchingProtocols, refused.Socket.HttpStatusCode);
        var (code, reason) = await refused.ReceiveCloseAsync();
        Assert.Equal(RelayCloseCodes.TryAgainLater, code);
        Assert.Contains("max_connections_per_ip", reason, StringComparison.Ordinal);
        await holder.RegisterAsync(Guid.NewGuid()); // The holder is untouched.
    }

    [Fact]
    public async Task WithoutConnectionMiddleware_TwoClientsExchangeOfferAndAnswer()
    {
        await using var server = await RelayTestServer.StartAsync(connectionMiddleware: false);
        var (a, aId) = await ForwardingTests.ConnectRegisteredAsync(server, "alice");
        var (b, bId) = await ForwardingTests.ConnectRegisteredAsync(server, "bob");
        await using var _a = a;
        await using var _b = b;
        Assert.Equal(2, server.RegisteredCount());

        await a.SendTextAsync(TestRelayClient.PeerConnection(aId, bId, description: "offer-sdp", type: "offer", sourceName: "alice"));
        var offer = await b.ReceiveJsonAsync();
        Assert.Equal("peer_connection", offer["message_type"]!.GetValue<string>());
        Assert.Equal(aId.ToString(), offer["source_uuid"]!.GetValue<string>());
        Assert.Equal("alice", offer["source_name"]!.GetValue<string>());
        Assert.Equal("offer", offer["description_type"]!.GetValue<string>());
        Assert.Equal("offer-sdp", offer["description"]!.GetValue<string>());

        await b.SendTextAsync(TestRelayClient.PeerConnection(bId, aId, description: "answer-sdp", type: "answer", sourceName: "bob"));
        var answer = await a.ReceiveJsonAsync();
        Assert.Equal(bId.ToString(), answer["source_uuid"]!.GetValue<string>());
        Assert.Equal("bob", answer["source_name"]!.GetValue<string>());
        Assert.Equal("answer", answer["description_type"]!.GetValue<string>());
        Assert.Equal("answer-sdp", answer["description"]!.GetValue<string>());
        Assert.Null(answer["error"]);
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(1001)]
    [InlineData(4321)]
    public async Task WithoutConnectionMiddleware_ClientClose_IsAnsweredWithTheSameCode(int code)
    {
        await using var server = await RelayTestServer.StartAsync(connectionMiddleware: false);
        var (client, _) = await ForwardingTests.ConnectRegisteredAsync(server);
        await using var _c = client;

        // CloseAsync completes when the server's close frame has come back.
        await client.Socket.CloseAsync((WebSocketCloseStatus)code, "bye", CancellationToken.None).WithTimeout();
        Assert.Equal(WebSocketState.Closed, client.Socket.State);
        Assert.Equal(code, (int)client.Socket.CloseStatus!.Value);
        await TaskTimeoutExtensions.WaitUntil(() => server.ConnectionCount() == 0 && server.RegisteredCount() == 0);
    }

    [Fact]
    public async Task WithoutConnectionMiddleware_OverMaxMessageBytes_Closes4003()
    {
        await using var server = await RelayTestServer.StartAsync(o => o.MaxMessageBytes = 1000, connectionMiddleware: false);
        var (client, _) = await ForwardingTests.ConnectRegisteredAsync(server);
        await using var _c = client;
        await client.SendTextAsync(new string('x', 1001));
        Assert.Equal((RelayCloseCodes.MessageTooLarge, RelayCloseCodes.MessageTooLargeReason), await client.ReceiveCloseAsync());
    }

    [Fact]
    public async Task WithoutConnectionMiddleware_OverTransportLimit_Closes1009()
    {
        await using var server = await RelayTestServer.StartAsync(o => o.TransportMaxMessageBytes = 1000, connectionMiddleware: false);
        await using var client = await TestRelayClient.ConnectAsync(server.Uri);
        await client.SendTextAsync(new string('x', 1001));
        Assert.Equal(RelayCloseCodes.MessageTooBig, (await client.ReceiveCloseAsync()).Code);
    }

    [Fact]
    public async Task HealthCheckThenUpgrade_OnOneKeepAliveConnection_RelayWorks()
    {
        await using var server = await RelayTestServer.StartAsync();
        var port = server.Uri.Port;
        using var connection = await RawWebSocket.OpenAsync(port).WithTimeout();

        await connection.WriteAsync($"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").WithTimeout();
        var health = await connection.ReadHeadAsync().WithTimeout();
        Assert.StartsWith("HTTP/1.1 200 ", health, StringComparison.Ordinal);
        Assert.NotEqual("close", RawWebSocket.HeaderValue(health, "Connection"));
        var length = int.Parse(RawWebSocket.HeaderValue(health, "Content-Length") ?? throw new InvalidOperationException(health), CultureInfo.InvariantCulture);
        Assert.Equal("ready\n", Encoding.UTF8.GetString(await connection.ReadExactAsync(length).WithTimeout()));

        // The second request on the same connection: an upgrade, with the RFC 6455 example key.
        await connection.WriteAsync(
            $"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").WithTimeout();
        var upgrade = await connection.ReadHeadAsync().WithTimeout();
        Assert.StartsWith("HTTP/1.1 101 ", upgrade, StringComparison.Ordinal);
        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", RawWebSocket.HeaderValue(upgrade, "Sec-WebSocket-Accept"));
        Assert.Equal("websocket", RawWebSocket.HeaderValue(upgrade, "Upgrade"), ignoreCase: true);

        var id = Guid.NewGuid();
        await connection.SendRawAsync(ClientFrame.Text(TestRelayClient.Registration(id, "keep-alive"))).WithTimeout();
        var (first, masked, payload) = await connection.ReadWholeFrameAsync().WithTimeout() ?? throw new EndOfStreamException();
        Assert.Equal(0x81, first); // FIN, text.
        Assert.False(masked);
        var response = JsonNode.Parse(payload)!.AsObject();
        Assert.Equal("relay_response", response["message_type"]!.GetValue<string>());
        Assert.True(response["success"]!.GetValue<bool>());
        Assert.Equal(id, Assert.Single(server.RegisteredUuids()));

        // A close is answered with the same code, over the same connection.
        await connection.SendRawAsync(ClientFrame.Build(WebSocketOpcode.Close, [0x03, 0xE8])).WithTimeout();
        var (closeFirst, _, closePayload) = await connection.ReadWholeFrameAsync().WithTimeout() ?? throw new EndOfStreamException();
        Assert.Equal(0x88, closeFirst);
        Assert.Equal(new byte[] { 0x03, 0xE8 }, closePayload[..2]);
    }
}
