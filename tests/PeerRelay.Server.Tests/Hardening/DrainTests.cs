using System.Net;
using System.Net.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using PeerRelay.Protocol;
using PeerRelay.Server.Internal;
using PeerRelay.Testing;

namespace PeerRelay.Server.Tests.Hardening;

/// <summary>Graceful drain (issue 7, item 5): not ready first, new upgrades closed with 1001, clients closed with 1001 in bounded time.</summary>
public sealed class DrainTests
{
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan CloseTimeoutOfDriveTest = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Stop_FlipsReadinessRefusesUpgradesAndClosesClientsWith1001InBoundedTime()
    {
        await using var server = await RelayTestServer.StartAsync(o => o.CloseTimeout = CloseTimeout);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Uri.Port}/") };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("readyz", UriKind.Relative)).WithTimeout()).StatusCode);

        await using var polite = await TestRelayClient.ConnectAsync(server.Uri);
        await polite.RegisterAsync(Guid.NewGuid());

        // A client that never reads never answers the close: it keeps the drain open until the close timeout, which
        // gives this test a window in which the server is stopping but still listening.
        await using var silent = await TestRelayClient.ConnectAsync(server.Uri);
        await silent.RegisterAsync(Guid.NewGuid());

        var stop = server.StopAsync();
        var (code, reason) = await polite.ReceiveCloseAsync();
        Assert.Equal(RelayCloseCodes.GoingAway, code);
        Assert.Equal("Server is shutting down.", reason);

        var ready = await http.GetAsync(new Uri("readyz", UriKind.Relative)).WithTimeout();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal("not ready\ndrain: draining\n", await ready.Content.ReadAsStringAsync());

        // Liveness stays up while draining: Kubernetes must not restart a node that is only draining.
        var live = await http.GetAsync(new Uri("healthz", UriKind.Relative)).WithTimeout();
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);

        // A late client is turned away with 1013, not an HTTP 503: ProxyStore's RelayClient retries a close code (with
        // back-off) but dies on an HTTP status in the handshake.
        await using var late = await TestRelayClient.ConnectAsync(server.Uri);
        await late.SendTextAsync(TestRelayClient.Registration(Guid.NewGuid()));
        var (lateCode, lateReason) = await late.ReceiveCloseAsync();
        Assert.Equal(RelayCloseCodes.TryAgainLater, lateCode);
        Assert.Equal(ConnectionRefusal.DrainingReason, lateReason);

        // Bounded: the silent client is aborted after the close timeout and the stop completes.
        await stop.WithTimeout(CloseTimeout + TimeSpan.FromSeconds(15));
        Assert.Equal(0, server.ConnectionCount());
        Assert.Equal(0, server.RegisteredCount());

        // The silent client was sent 1001 too (then aborted, since it never answered).
        var last = await silent.Socket.ReceiveAsync(new byte[1024], CancellationToken.None).WithTimeout();
        Assert.Equal(WebSocketMessageType.Close, last.MessageType);
        Assert.Equal(RelayCloseCodes.GoingAway, (int)last.CloseStatus!);
    }

    /// <summary>
    /// The drain waits at most close_timeout + 1 s (on the relay's clock, a fake one here), then aborts what is left: a
    /// client that never answered its 1001, and one that connected during the drain and never answered its 1013,
    /// whose own close time-out (60 s of real time here) would end it only long after the stop. No connection
    /// outlives the stop. (The first test above failed now and then when the sweeper aborted its silent client a tick
    /// after the drain's deadline.)
    /// </summary>
    [Fact]
    public async Task Stop_PastItsDeadline_AbortsEveryConnectionLeft_IncludingOneThatCameDuringTheDrain()
    {
        var clock = new FakeTimeProvider();
        var server = await RelayTestServer.StartAsync(
            o => o.CloseTimeout = CloseTimeoutOfDriveTest, host: b => b.Services.AddSingleton<TimeProvider>(clock));
        try
        {
            await using var silent = await TestRelayClient.ConnectAsync(server.Uri);
            await silent.RegisterAsync(Guid.NewGuid());

            var stop = server.StopAsync();
            var goingAway = await silent.Socket.ReceiveAsync(new byte[1024], CancellationToken.None).WithTimeout();
            Assert.Equal(RelayCloseCodes.GoingAway, (int)goingAway.CloseStatus!);

            await using var late = await TestRelayClient.ConnectAsync(server.Uri);
            await late.SendTextAsync(TestRelayClient.Registration(Guid.NewGuid()));
            var refused = await late.Socket.ReceiveAsync(new byte[1024], CancellationToken.None).WithTimeout();
            Assert.Equal(RelayCloseCodes.TryAgainLater, (int)refused.CloseStatus!);
            Assert.Equal(2, server.ConnectionCount()); // Neither answers its close: the drain waits for both.

            // Past the deadline on the relay's clock; again until the stop is done (the drain may not have read the
            // clock yet when it is first moved on).
            await DriveClockUntilAsync(clock, stop).WithTimeout();
            await stop;
            Assert.Equal(0, server.ConnectionCount());
            Assert.Equal(0, server.RegisteredCount());
        }
        finally
        {
            // Disposing stops the host again, whose drain would wait on the fake clock for anything left.
            await DriveClockUntilAsync(clock, server.DisposeAsync().AsTask()).WithTimeout();
        }
    }

    [Fact]
    public async Task Stop_WithManyClients_ClosesEveryoneWith1001()
    {
        await using var server = await RelayTestServer.StartAsync();
        var clients = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => TestRelayClient.ConnectAsync(server.Uri)));
        await Task.WhenAll(clients.Select(c => c.RegisterAsync(Guid.NewGuid())));
        var stop = server.StopAsync();
        var closes = await Task.WhenAll(clients.Select(c => c.ReceiveCloseAsync()));
        Assert.All(closes, c => Assert.Equal(RelayCloseCodes.GoingAway, c.Code));
        await stop.WithTimeout();
        Assert.Equal(0, server.RegisteredCount());
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }

    /// <summary>Moves <paramref name="clock"/> on by more than the drain's deadline until <paramref name="done"/> completes.</summary>
    private static async Task DriveClockUntilAsync(FakeTimeProvider clock, Task done)
    {
        while (!done.IsCompleted)
        {
            clock.Advance(CloseTimeoutOfDriveTest + TimeSpan.FromSeconds(2));
            await Task.WhenAny(done, Task.Delay(TimeSpan.FromMilliseconds(50)));
        }
    }
}
