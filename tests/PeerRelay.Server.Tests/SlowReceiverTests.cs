using PeerRelay.Protocol;
using PeerRelay.Testing;

namespace PeerRelay.Server.Tests;

public sealed class SlowReceiverTests
{
    [Fact]
    public async Task ReceiverThatStopsReading_IsClosed1008_SenderToldAndOthersUnaffected()
    {
        await using var server = await RelayTestServer.StartAsync(o => o.SendQueueCapacity = 64);
        var (sender, senderId) = await ForwardingTests.ConnectRegisteredAsync(server);
        var (stalled, stalledId) = await ForwardingTests.ConnectRegisteredAsync(server);
        var (a, aId) = await ForwardingTests.ConnectRegisteredAsync(server);
        var (b, bId) = await ForwardingTests.ConnectRegisteredAsync(server);
        await using var _s = sender;
        await using var _t = stalled;
        await using var _a = a;
        await using var _b = b;

        // Flood the stalled client with 64 KiB offers until the relay gives up on it (loopback socket buffers hold a few
        // MiB, so this takes some hundreds). The sender sends in batches, each followed by a message to itself, and
        // reads until that comes back, so that the sender itself always keeps up with what the relay returns to it.
        var big = new string('s', 64 * 1024);
        string? error = null;
        for (var batch = 0; batch < 500 && error is null; batch++)
        {
            for (var i = 0; i < 16; i++)
            {
                await sender.SendTextAsync(TestRelayClient.PeerConnection(senderId, stalledId, description: big));
            }

            await sender.SendTextAsync(TestRelayClient.PeerConnection(senderId, senderId, description: $"sync-{batch}"));
            while (true)
            {
                var message = await sender.ReceiveJsonAsync();
                error ??= message["error"]?.GetValue<string>();
                if (message["description"]!.GetValue<string>() == $"sync-{batch}")
                {
                    break;
                }
            }
        }

        Assert.NotNull(error);
        Assert.Contains($"peer {stalledId}", error, StringComparison.Ordinal);
        Assert.True(
            error.Contains("did not read its messages", StringComparison.Ordinal) || error.Contains("not registered", StringComparison.Ordinal),
            error);

        // Only the stalled client went away; the others still talk.
        await TaskTimeoutExtensions.WaitUntil(() => server.RegisteredCount() == 3);
        await a.SendTextAsync(TestRelayClient.PeerConnection(aId, bId, description: "still-fine"));
        Assert.Equal("still-fine", (await b.ReceiveJsonAsync())["description"]!.GetValue<string>());
        await sender.SendTextAsync(TestRelayClient.PeerConnection(senderId, aId, description: "sender-fine"));
        Assert.Equal("sender-fine", (await a.ReceiveJsonAsync())["description"]!.GetValue<string>());
        Assert.Equal(3, server.RegisteredCount());

        // When the stalled client reads again, it finds the 1008 close after what was already in flight.
        var (code, _) = await stalled.ReceiveUntilCloseAsync();
        Assert.True(code is RelayCloseCodes.PolicyViolation or 1006, $"close code {code}");
    }
}
