using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using PeerRelay.Server.Internal;
using PeerRelay.Server.Routing;
using PeerRelay.Testing;

namespace PeerRelay.Server.Tests.Hardening;

/// <summary>Abuse that reconnects, readers that never read, peers whose path vanished (issue 13).</summary>
public sealed class AbuseTests
{
    [Fact]
    public async Task SlowReader_ThatNeverReads_IsCutAfterSlowReaderTimeout_EvenWhenTheSendersStop()
    {
        // Pings off: only the stall check can find it. Fewer messages than send_queue_capacity: the queue never fills.
        await using var server = await RelayTestServer.StartAsync(o =>
        {
            o.MessageRate = 0;
            o.KeepAliveInterval = TimeSpan.Zero;
            o.SlowReaderTimeout = TimeSpan.FromSeconds(1);
        });
        using var limits = new MetricRecorder(server.Services.GetRequiredService<IMeterFactory>(), RelayMetrics.MeterName, "peerrelay.limits.hit");
        await using var proxy = TcpProxy.Start(server.Uri);
        var slowId = Guid.NewGuid();
        await using var slow = await TestRelayClient.ConnectAsync(proxy.WebSocketUri);
        await slow.RegisterAsync(slowId);
        var (sender, _, senderId, _) = await FaultTests.HonestPairAsync(server);
        await using var _s = sender;

        proxy.Blackhole();

        // 200 × 64 KiB: more than the kernel buffers on the way hold, fewer messages than the queue's 256.
        var big = new string('x', 64 * 1024);
        for (var i = 0; i < 200; i++)
        {
            await sender.SendTextAsync(TestRelayClient.PeerConnection(senderId, slowId, big));
        }

        // The senders stopped; the reader is still cut, and its UUID released.
        await TaskTimeoutExtensions.WaitUntil(() => server.Services.GetRequiredService<IRelayRegistry>().Find(slowId) is null);
        Assert.Equal(1, limits.Count("limit", "slow_reader_timeout"));

        await sender.SendTextAsync(TestRelayClient.PeerConnection(senderId, slowId, "after"));
        var echo = await sender.ReceiveJsonAsync();
        Assert.StartsWith($"Cannot forward peer connection message to peer {slowId}", echo["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }
    [Fact]
    public async Task HalfOpenPeer_RemovedWithinPingIntervalPlusTimeout_AndNoForwardToItVanishes()
    {
        // A peer whose path vanished (a blackholing proxy: nothing read, nothing closed) while a sender keeps writing to
        // it, more than the kernel buffers hold. Every forward must be written into the peer's socket or come back to
        // the sender with an error: sent = forwarded - dropped from its queue + errors.
        var interval = TimeSpan.FromSeconds(1);
        var timeout = TimeSpan.FromSeconds(2);
        await using var server = await RelayTestServer.StartAsync(o =>
        {
            o.MessageRate = 0;
            o.KeepAliveInterval = interval;
            o.KeepAliveTimeout = timeout;
            o.SlowReaderTimeout = TimeSpan.Zero; // Only the keep-alive finds it here,
            o.SendQueueCapacity = 4096; // not its queue filling.
        });
        var meters = server.Services.GetRequiredService<IMeterFactory>();
        using var forwarded = new MetricRecorder(meters, RelayMetrics.MeterName, "peerrelay.messages.forwarded");
        using var dropped = new MetricRecorder(meters, RelayMetrics.MeterName, "peerrelay.messages.dropped");
        var registry = server.Services.GetRequiredService<IRelayRegistry>();
        await using var proxy = TcpProxy.Start(server.Uri);
        var peerId = Guid.NewGuid();
        await using var peer = await TestRelayClient.ConnectAsync(proxy.WebSocketUri);
        await peer.RegisterAsync(peerId);
        var senderId = Guid.NewGuid();
        await using var sender = await TestRelayClient.ConnectAsync(server.Uri);
        await sender.RegisterAsync(senderId);

        // The sender reads all along (so it answers the relay's pings) and counts the errors it gets back.
        var errors = 0;
        using var stop = new CancellationTokenSource();
        var reading = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                string text;
                try
                {
                    text = await sender.ReceiveTextAsync(TimeSpan.FromMinutes(2));
                }
                catch (Exception) when (stop.IsCancellationRequested)
                {
                    return; // The test is over: the socket was closed under the read.
                }

                Assert.StartsWith($"Cannot forward peer connection message to peer {peerId}", System.Text.Json.Nodes.JsonNode.Parse(text)!["error"]!.GetValue<string>(), StringComparison.Ordinal);
                Interlocked.Increment(ref errors);
            }
        });

        proxy.Blackhole();
        var big = new string('x', 32 * 1024);
        var sent = 0;
        var peerConnection = (RelayConnection)registry.Find(peerId)!;

        // Back to back until the kernel buffers towards the proxy are full and the relay queues (nothing drains that
        // queue any more), however slow the machine; then only the keep-alive is left to find the peer.
        while (peerConnection.QueuedMessages == 0 && registry.Find(peerId) is not null)
        {
            await sender.SendTextAsync(TestRelayClient.PeerConnection(senderId, peerId, big));
            sent++;
        }

        await TaskTimeoutExtensions.WaitUntil(() => registry.Find(peerId) is null, interval + timeout + TimeSpan.FromSeconds(20));

        // Once the peer's connection has ended, nothing vanished: what did not go into its socket came back as an error.
        await TaskTimeoutExtensions.WaitUntil(() => server.ConnectionCount() == 1);
        await TaskTimeoutExtensions.WaitUntil(() => Volatile.Read(ref errors) == sent - (forwarded.Total - dropped.Count("reason", "connection_closed")));
        Assert.True(dropped.Count("reason", "connection_closed") > 0, "nothing was queued behind the stalled socket: the test did not fill it");
        Assert.False(reading.IsCompleted, $"the sender's reader stopped: {reading.Exception}");
        await stop.CancelAsync();
        await sender.DisposeAsync();
        await reading.WithTimeout();
    }
}

/// <summary>The throttle every client-caused log line goes through.</summary>
public sealed class LogThrottleTests
{
    [Fact]
    public void ABudgetOfLines_PerInterval_ThenTheSkippedAreCountedOnTheNextLine()
    {
        long now = 1_000;
        var throttle = new LogThrottle(TimeSpan.FromSeconds(1), linesPerInterval: 2, clockMs: () => now);
        Assert.True(throttle.ShouldLog(out var first));
        Assert.True(throttle.ShouldLog(out var second));
        Assert.Equal(0, first + second);
        Assert.False(throttle.ShouldLog(out _));
        now += 999;
        Assert.False(throttle.ShouldLog(out _));
        Assert.False(throttle.ShouldLog(out _));

        now += 1; // The next interval: two lines again, the first with the three skipped.
        Assert.True(throttle.ShouldLog(out var reported));
        Assert.Equal(3, reported);
        Assert.True(throttle.ShouldLog(out reported));
        Assert.Equal(0, reported);
        Assert.False(throttle.ShouldLog(out _));
    }
}
