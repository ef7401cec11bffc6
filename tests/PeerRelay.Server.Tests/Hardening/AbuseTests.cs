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
}
