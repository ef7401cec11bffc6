using System.Diagnostics.Metrics;
using System.Net.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using PeerRelay.Protocol;
using PeerRelay.Server.Hosting;
using PeerRelay.Testing;

namespace PeerRelay.Server.Tests;

public sealed class RegistrationTests
{
    [Fact]
    public async Task Register_NewUuid_RepliesSuccess()
    {
        await using var server = await RelayTestServer.StartAsync();
        await using var client = await TestRelayClient.ConnectAsync(server.Uri);
        await client.SendTextAsync(TestRelayClient.Registration(Guid.NewGuid()));
        Assert.Equal(
            """{"success": true, "message": null, "error": false, "message_type": "relay_response"}""",
            await client.ReceiveTextAsync());
    }

    [Fact]
    public async Task Register_SameSocketAgain_RepliesSuccessAgain()
    {
        await using var server = await RelayTestServer.StartAsync();
        await using var client = await TestRelayClient.ConnectAsync(server.Uri);
        var uuid = Guid.NewGuid();
        await client.RegisterAsync(uuid);
        await client.RegisterAsync(uuid);
        Assert.Equal(1, server.RegisteredCount());
    }

    [Fact]
    public async Task Register_SameUuidOnNewSocket_ClosesOldWith4004AndNewWorks()
    {
        await using var server = await RelayTestServer.StartAsync();
        var uuid = Guid.NewGuid();
        await using var old = await TestRelayClient.ConnectAsync(server.Uri);
        await old.RegisterAsync(uuid);
        await using var replacement = await TestRelayClient.ConnectAsync(server.Uri);
        var oldClosed = old.ReceiveCloseAsync(); // Reading, the old client answers the 4004, which the new one waits for.
        await replacement.RegisterAsync(uuid);

        var (code, reason) = await oldClosed;
        Assert.Equal(RelayCloseCodes.DuplicateRegistration, code);
        Assert.Equal(RelayCloseCodes.DuplicateRegistrationReason, reason);

        // The new socket owns the UUID: a message to it arrives there, and the old socket's close did not release it.
        await using var sender = await TestRelayClient.ConnectAsync(server.Uri);
        var senderId = Guid.NewGuid();
        await sender.RegisterAsync(senderId);
        await sender.SendTextAsync(TestRelayClient.PeerConnection(senderId, uuid));
        var delivered = await replacement.ReceiveJsonAsync();
        Assert.Equal(uuid.ToString(), delivered["peer_uuid"]!.GetValue<string>());
        Assert.Equal(1 + 1, server.RegisteredCount());
    }

    /// <summary>
    /// The reference's take-over order, which ProxyStore's client relies on: the new registration is confirmed only
    /// after the old socket's close has completed, and a message for the UUID sent meanwhile waits behind the
    /// confirmation instead of being lost.
    /// </summary>
    [Fact]
    public async Task Register_TakeOver_ConfirmedAfterTheOldSocketIsGone_MessageMeanwhileFollowsTheResponse()
    {
        await using var server = await RelayTestServer.StartAsync(o => o.CloseTimeout = TimeSpan.FromSeconds(60));
        using var forwarded = new MetricRecorder(server.Services.GetRequiredService<IMeterFactory>(), RelayMetrics.MeterName, "peerrelay.messages.forwarded");
        var uuid = Guid.NewGuid();
        using var old = await WebSockets.RawWebSocket.ConnectAsync(server.Uri.Port); // answers a close only when told
        await old.SendRawAsync(WebSockets.RawWebSocket.TextFrame(TestRelayClient.Registration(uuid)));
        Assert.Equal(WebSockets.RawWebSocket.Text, (await old.ReadFrameAsync())!.Value.Opcode);
        await using var sender = await TestRelayClient.ConnectAsync(server.Uri);
        var senderId = Guid.NewGuid();
        await sender.RegisterAsync(senderId);
        await using var replacement = await TestRelayClient.ConnectAsync(server.Uri);
        await replacement.SendTextAsync(TestRelayClient.Registration(uuid));

        // The old socket is told first; until it answers, the new registration waits (close_timeout is long here), and
        // a message for the UUID sent meanwhile is held for the new socket.
        var close = (await old.ReadFrameAsync())!.Value;
        Assert.Equal(WebSockets.RawWebSocket.Close, close.Opcode);
        Assert.Equal(RelayCloseCodes.DuplicateRegistration, System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(close.Payload));
        await sender.SendTextAsync(TestRelayClient.PeerConnection(senderId, uuid, "during-take-over"));
        await TaskTimeoutExtensions.WaitUntil(() => forwarded.Total == 1);
        await old.SendRawAsync(WebSockets.RawWebSocket.Frame(WebSockets.RawWebSocket.Close, close.Payload.AsSpan(0, 2)));

        var response = await replacement.ReceiveJsonAsync();
        Assert.Equal("relay_response", response["message_type"]!.GetValue<string>());
        Assert.True(response["success"]!.GetValue<bool>());
        Assert.Equal(2, server.ConnectionCount()); // The old connection had ended before the response was sent.
        var held = await replacement.ReceiveJsonAsync();
        Assert.Equal("during-take-over", held["description"]!.GetValue<string>());
        Assert.Null(held["error"]);
    }

    [Fact]
    public async Task Register_NewUuidOnSameSocket_ReleasesOldUuid()
    {
        await using var server = await RelayTestServer.StartAsync();
        await using var client = await TestRelayClient.ConnectAsync(server.Uri);
        var first = Guid.NewGuid();
        var second = Guid.NewGuid();
        await client.RegisterAsync(first);
        await client.RegisterAsync(second);
        Assert.Equal(1, server.RegisteredCount());

        await client.SendTextAsync(TestRelayClient.PeerConnection(second, first));
        var echo = await client.ReceiveJsonAsync();
        Assert.StartsWith($"Cannot forward peer connection message to peer {first}", echo["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Register_UuidOfAnotherUser_Closes4002()
    {
        await using var server = await RelayTestServer.StartAsync(relay: r => r.UseAuthenticator(new HeaderUserAuthenticator()));
        var uuid = Guid.NewGuid();
        await using var alice = await TestRelayClient.ConnectAsync(server.Uri, o => o.SetRequestHeader("X-Test-User", "alice"));
        await alice.RegisterAsync(uuid);
        await using var bob = await TestRelayClient.ConnectAsync(server.Uri, o => o.SetRequestHeader("X-Test-User", "bob"));
        await bob.SendTextAsync(TestRelayClient.Registration(uuid));

        var (code, reason) = await bob.ReceiveCloseAsync();
        Assert.Equal(RelayCloseCodes.Forbidden, code);
        Assert.Equal($"ForbiddenError: The client UUID {uuid} is already registered to another user.", reason);

        // Alice keeps her registration.
        await alice.SendTextAsync(TestRelayClient.PeerConnection(uuid, uuid));
        Assert.Null((await alice.ReceiveJsonAsync())["error"]);
    }

    [Theory]
    [InlineData("4001", RelayCloseCodes.Unauthorized, "UnauthorizedError: Request headers are missing authorization header.")]
    [InlineData("4002", RelayCloseCodes.Forbidden, "ForbiddenError: Token is not active.")]
    [InlineData("1013", RelayCloseCodes.TryAgainLater, "ServiceUnavailableError: Identity service did not answer.")]
    public async Task Register_AuthenticationFails_ClosesWithCodeAndReason(string reject, int expectedCode, string expectedReason)
    {
        await using var server = await RelayTestServer.StartAsync(relay: r => r.UseAuthenticator(new HeaderUserAuthenticator()));
        await using var client = await TestRelayClient.ConnectAsync(server.Uri, o => o.SetRequestHeader("X-Test-Reject", reject));
        await client.SendTextAsync(TestRelayClient.Registration(Guid.NewGuid()));
        var (code, reason) = await client.ReceiveCloseAsync();
        Assert.Equal(expectedCode, code);
        Assert.Equal(expectedReason, reason);
        await TaskTimeoutExtensions.WaitUntil(() => server.ConnectionCount() == 0);
        Assert.Equal(0, server.RegisteredCount());
    }

    [Fact]
    public async Task Close_Normal_RemovesRegistration()
    {
        await using var server = await RelayTestServer.StartAsync();
        var uuid = Guid.NewGuid();
        var client = await TestRelayClient.ConnectAsync(server.Uri);
        await client.RegisterAsync(uuid);
        await client.CloseAsync();
        await client.DisposeAsync();
        await TaskTimeoutExtensions.WaitUntil(() => server.RegisteredCount() == 0);
        await AssertUnknownAsync(server, uuid);
    }

    [Fact]
    public async Task Close_AbruptDrop_RemovesRegistration()
    {
        await using var server = await RelayTestServer.StartAsync();
        var uuid = Guid.NewGuid();
        var client = await TestRelayClient.ConnectAsync(server.Uri);
        await client.RegisterAsync(uuid);
        client.Socket.Abort();
        await TaskTimeoutExtensions.WaitUntil(() => server.RegisteredCount() == 0 && server.ConnectionCount() == 0);
        await AssertUnknownAsync(server, uuid);
    }

    [Fact]
    public async Task Close_AfterProtocolError_RemovesRegistration()
    {
        await using var server = await RelayTestServer.StartAsync(o => o.MaxMessageBytes = 2000);
        var uuid = Guid.NewGuid();
        await using var client = await TestRelayClient.ConnectAsync(server.Uri);
        await client.RegisterAsync(uuid);
        await client.SendTextAsync(new string('x', 3000));
        Assert.Equal(RelayCloseCodes.MessageTooLarge, (await client.ReceiveCloseAsync()).Code);
        await TaskTimeoutExtensions.WaitUntil(() => server.RegisteredCount() == 0);
        await AssertUnknownAsync(server, uuid);
    }

    [Fact]
    public async Task ManyClients_RegisterAndForwardConcurrently()
    {
        const int Pairs = 200;

        // All clients come from 127.0.0.1: lift max_connections_per_ip (default 256) for this test.
        await using var server = await RelayTestServer.StartAsync(o => o.MaxConnectionsPerIp = Pairs * 2);
        var clients = await Task.WhenAll(Enumerable.Range(0, Pairs * 2).Select(_ => TestRelayClient.ConnectAsync(server.Uri)));
        var ids = clients.Select(_ => Guid.NewGuid()).ToArray();
        try
        {
            await Task.WhenAll(clients.Select((c, i) => c.RegisterAsync(ids[i])));
            Assert.Equal(Pairs * 2, server.RegisteredCount());

            // Every client sends one offer to its partner; every client receives exactly its partner's offer.
            await Task.WhenAll(clients.Select((c, i) => c.SendTextAsync(TestRelayClient.PeerConnection(ids[i], ids[i ^ 1], description: $"from-{i}"))));
            var received = await Task.WhenAll(clients.Select(c => c.ReceiveJsonAsync()));
            for (var i = 0; i < clients.Length; i++)
            {
                Assert.Equal($"from-{i ^ 1}", received[i]["description"]!.GetValue<string>());
                Assert.Equal(ids[i ^ 1].ToString(), received[i]["source_uuid"]!.GetValue<string>());
            }
        }
        finally
        {
            foreach (var c in clients)
            {
                await c.DisposeAsync();
            }
        }

        await TaskTimeoutExtensions.WaitUntil(() => server.RegisteredCount() == 0);
    }

    internal static async Task AssertUnknownAsync(RelayTestServer server, Guid uuid)
    {
        await using var probe = await TestRelayClient.ConnectAsync(server.Uri);
        var probeId = Guid.NewGuid();
        await probe.RegisterAsync(probeId);
        await probe.SendTextAsync(TestRelayClient.PeerConnection(probeId, uuid));
        var echo = await probe.ReceiveJsonAsync();
        Assert.StartsWith($"Cannot forward peer connection message to peer {uuid}", echo["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
