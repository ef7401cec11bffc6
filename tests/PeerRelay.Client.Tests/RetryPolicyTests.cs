using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using PeerRelay.Testing;

namespace PeerRelay.Client.Tests;

public sealed class RetryPolicyTests
{
    private static RelayRetryContext Context(long retries, double elapsedSeconds = 0) =>
        new(retries, TimeSpan.FromSeconds(elapsedSeconds), new TimeoutException());

    [Fact]
    public void Default_WithoutJitter_DoublesFromOneSecondAndCapsAtSixty()
    {
        var policy = new ExponentialBackoffRetryPolicy { JitterFraction = 0 };
        var delays = Enumerable.Range(0, 10).Select(n => policy.NextRetryDelay(Context(n))!.Value.TotalSeconds);
        Assert.Equal([1, 2, 4, 8, 16, 32, 60, 60, 60, 60], delays);
        Assert.Equal(TimeSpan.FromSeconds(60), policy.NextRetryDelay(Context(long.MaxValue)));
    }

    [Fact]
    public void Default_WithJitter_StaysBetweenNominalAndTwentyPercentMoreWithinOneToSixtySeconds()
    {
        var policy = new ExponentialBackoffRetryPolicy(new Random(7));
        var seen = new HashSet<double>();
        for (var round = 0; round < 50; round++)
        {
            for (var n = 0; n < 12; n++)
            {
                var nominal = Math.Min(60, Math.Pow(2, n));
                var delay = policy.NextRetryDelay(Context(n))!.Value.TotalSeconds;
                Assert.InRange(delay, nominal, Math.Min(60, nominal * 1.2));
                Assert.InRange(delay, 1, 60);
                seen.Add(delay);
            }
        }

        Assert.True(seen.Count > 100, "jitter should spread the delays");
    }

    [Fact]
    public void Limits_ReturnNullToStop()
    {
        var policy = new ExponentialBackoffRetryPolicy { MaxRetries = 3, MaxElapsedTime = TimeSpan.FromMinutes(5) };
        Assert.NotNull(policy.NextRetryDelay(Context(2)));
        Assert.Null(policy.NextRetryDelay(Context(3)));
        Assert.Null(policy.NextRetryDelay(Context(0, elapsedSeconds: 300)));
    }

    [Fact]
    public void InvalidSettings_ThrowClearErrors()
    {
        var ex = Assert.Throws<InvalidOperationException>(() =>
            new ExponentialBackoffRetryPolicy { InitialDelay = TimeSpan.Zero }.NextRetryDelay(Context(0)));
        Assert.Contains("InitialDelay", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<InvalidOperationException>(() =>
            new ExponentialBackoffRetryPolicy { JitterFraction = 2 }.NextRetryDelay(Context(0)));
        Assert.Contains("JitterFraction", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// The client waits exactly what the default policy says, on the injected clock: nothing happens a tick before a
    /// delay ends, the next attempt starts when it ends, and no real time passes waiting.
    /// </summary>
    [Fact]
    public async Task Client_WaitsTheDefaultPolicysDelaysOnTheInjectedClock_ThenGivesUp()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var contexts = new List<RelayRetryContext>();
        var inner = new ExponentialBackoffRetryPolicy(new Random(1)) { MaxRetries = 3 };
        var policy = new RecordingPolicy(inner, contexts);
        var port = FakeServers.ClosedPort();
        await using var client = new RelayClient(new RelayClientOptions
        {
            Address = new Uri($"ws://127.0.0.1:{port}/"),
            RetryPolicy = policy,
            TimeProvider = time,
        });
        var states = new StateRecorder(client);
        var connect = client.ConnectAsync();

        var expected = new[] { 1.0, 2.0, 4.0 };
        for (var i = 0; i < expected.Length; i++)
        {
            var reconnecting = await states.WaitFor(RelayClientState.Reconnecting, i + 1).WithTimeout();
            var delay = reconnecting.RetryDelay!.Value;
            Assert.InRange(delay.TotalSeconds, expected[i], expected[i] * 1.2);
            Assert.Equal(i + 1, reconnecting.RetryCount);
            Assert.True(IsRefused(reconnecting.Error), $"expected connection refused, got {reconnecting.Error}");

            // A tick before the delay ends, the client has not tried again.
            time.Advance(delay - TimeSpan.FromTicks(1));
            Assert.Equal(i + 1, states.Count(RelayClientState.Connecting));
            Assert.Equal(RelayClientState.Reconnecting, client.State);

            time.Advance(TimeSpan.FromTicks(1));
            await states.WaitFor(RelayClientState.Connecting, i + 2).WithTimeout();
        }

        // The fourth failure: the policy says stop; the client closes with the last failure inside.
        var ex = await Assert.ThrowsAsync<RelayConnectionException>(() => connect.WithTimeout());
        Assert.Contains("Gave up", ex.Message, StringComparison.Ordinal);
        Assert.True(IsRefused(ex.InnerException));
        Assert.Equal(RelayClientState.Closed, client.State);

        Assert.Equal([0L, 1, 2, 3], contexts.Select(c => c.PreviousRetryCount));
        Assert.Equal(TimeSpan.Zero, contexts[0].ElapsedTime);
        var d = states.Events.Where(e => e.State == RelayClientState.Reconnecting).Select(e => e.RetryDelay!.Value).ToList();
        Assert.Equal(d[0], contexts[1].ElapsedTime);
        Assert.Equal(d[0] + d[1], contexts[2].ElapsedTime);
        Assert.Equal(d[0] + d[1] + d[2], contexts[3].ElapsedTime);
    }

    /// <summary>
    /// When the policy gives up, the client is Closed (and has said so) before <c>ConnectAsync</c> fails: inside the
    /// Closed event, the task is still pending. Before the fix the task failed first, so <c>State</c> could still read
    /// Connecting after the await returned (the flaky assertion of the test above).
    /// </summary>
    [Fact]
    public async Task GivingUp_ReportsClosed_BeforeConnectAsyncFails()
    {
        var port = FakeServers.ClosedPort();
        await using var client = new RelayClient(new RelayClientOptions
        {
            Address = new Uri($"ws://127.0.0.1:{port}/"),
            RetryPolicy = new ExponentialBackoffRetryPolicy { MaxRetries = 0 },
        });
        var closedSeen = new TaskCompletionSource<(bool ConnectDone, RelayClientState State)>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.StateChanged += (sender, e) =>
        {
            if (e.State == RelayClientState.Closed)
            {
                var self = (RelayClient)sender!;
                closedSeen.TrySetResult((self.ConnectAsync().IsCompleted, self.State));
            }
        };

        var connect = client.ConnectAsync();
        var (connectDone, state) = await closedSeen.Task.WithTimeout();

        Assert.Equal(RelayClientState.Closed, state);
        Assert.False(connectDone, "ConnectAsync had already failed when the client reported Closed");
        await Assert.ThrowsAsync<RelayConnectionException>(() => connect.WithTimeout());
        Assert.Equal(RelayClientState.Closed, client.State);
    }

    [Fact]
    public async Task Client_RetryCountStartsAgainAfterARegisteredConnection()
    {
        var contexts = new List<RelayRetryContext>();
        var policy = new RecordingPolicy(new ExponentialBackoffRetryPolicy { InitialDelay = TimeSpan.FromMilliseconds(10), MaxDelay = TimeSpan.FromMilliseconds(10) }, contexts);
        await using var server = await RelayTestServer.StartAsync();
        await using var proxy = TcpProxy.Start(server.Uri);
        await using var client = new RelayClient(new RelayClientOptions { Address = proxy.WebSocketUri, RetryPolicy = policy });
        var states = new StateRecorder(client);
        await client.ConnectAsync().WithTimeout();

        proxy.CutAll();
        await states.WaitFor(RelayClientState.Registered, 2).WithTimeout();
        proxy.CutAll();
        await states.WaitFor(RelayClientState.Registered, 3).WithTimeout();

        lock (contexts)
        {
            Assert.Equal([0L, 0], contexts.Select(c => c.PreviousRetryCount));
        }
    }

    private static bool IsRefused(Exception? error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
            {
                return true;
            }
        }

        return false;
    }

    private sealed class RecordingPolicy(IRelayRetryPolicy inner, List<RelayRetryContext> contexts) : IRelayRetryPolicy
    {
        public TimeSpan? NextRetryDelay(RelayRetryContext context)
        {
            lock (contexts)
            {
                contexts.Add(context);
            }

            return inner.NextRetryDelay(context);
        }
    }
}
