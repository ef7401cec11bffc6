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

    [Fact]
    public async Task SlowReadersWholeQueues_ReturnedToTheSender_BeyondItsCapacity_SenderNotCut_EveryForwardAnswered()
    {
        // Two stalled clients' queues (64 each) go back to one sender at once when they end: twice the sender's own
        // capacity, on top of what its socket buffers hold. The slow-reader time-out is off: the sender reads nothing
        // until the end, by design; the close time-out is long, so each stalled client ends when its reader answers.
        await using var server = await RelayTestServer.StartAsync(o =>
        {
            o.SendQueueCapacity = 64;
            o.MessageRate = 0;
            o.SlowReaderTimeout = TimeSpan.Zero;
            o.CloseTimeout = TimeSpan.FromSeconds(60);
        });
        var (sender, senderId) = await ForwardingTests.ConnectRegisteredAsync(server);
        var (t1, t1Id) = await ForwardingTests.ConnectRegisteredAsync(server);
        var (t2, t2Id) = await ForwardingTests.ConnectRegisteredAsync(server);
        await using var _s = sender;
        await using var _1 = t1;
        await using var _2 = t2;

        // The sender floods each stalled client with 256 KiB offers, reading nothing, until the relay lets it go
        // (its queue full: closed 1008, its UUID released at once, its queue kept to be returned when it ends).
        var big = new string('s', 256 * 1024);
        var sent = new Dictionary<Guid, int>();
        foreach (var target in new[] { t1Id, t2Id })
        {
            var registered = server.RegisteredCount();
            var n = 0;
            while (server.RegisteredCount() == registered)
            {
                Assert.True(n < 5000, $"{target} still registered after {n} offers of 256 KiB it never read");
                await sender.SendTextAsync(TestRelayClient.PeerConnection(senderId, target, description: big));
                n++;
            }

            sent[target] = n;
        }

        // Each stalled client reads what reached its socket and answers the close; its end returns its queue.
        var (received1, code1, _) = await t1.CountUntilCloseAsync(TimeSpan.FromSeconds(60));
        var (received2, code2, _) = await t2.CountUntilCloseAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(RelayCloseCodes.PolicyViolation, code1);
        Assert.Equal(RelayCloseCodes.PolicyViolation, code2);
        await TaskTimeoutExtensions.WaitUntil(() => server.ConnectionCount() == 1);

        // Every offer either reached its target's socket or comes back to the sender with an error, and the sender,
        // which read nothing until now, is still there.
        var errors = new Dictionary<Guid, int> { [t1Id] = 0, [t2Id] = 0 };
        await sender.SendTextAsync(TestRelayClient.PeerConnection(senderId, senderId, description: "still-here"));
        while (true)
        {
            var message = await sender.ReceiveJsonAsync(TimeSpan.FromSeconds(60));
            if (message["description"]!.GetValue<string>() == "still-here")
            {
                break;
            }

            var peer = Guid.Parse(message["peer_uuid"]!.GetValue<string>());
            Assert.StartsWith($"Cannot forward peer connection message to peer {peer}", message["error"]!.GetValue<string>(), StringComparison.Ordinal);
            errors[peer]++;
        }

        Assert.Equal(sent[t1Id], received1 + errors[t1Id]);
        Assert.Equal(sent[t2Id], received2 + errors[t2Id]);
        Assert.True(errors[t1Id] + errors[t2Id] > 64, $"only {errors[t1Id] + errors[t2Id]} returns: the sender's capacity was not exceeded");
        Assert.Equal(1, server.RegisteredCount());
    }
}
