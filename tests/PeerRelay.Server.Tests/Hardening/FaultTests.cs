using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PeerRelay.Client;
using PeerRelay.Protocol;
using PeerRelay.Server.Internal;
using PeerRelay.Server.Routing;
using PeerRelay.Server.Tests.WebSockets;
using PeerRelay.Testing;
using Xunit.Abstractions;

namespace PeerRelay.Server.Tests.Hardening;

/// <summary>Fault tests (issue 7, item 3): nothing is left behind and nobody else is affected.</summary>
public sealed class FaultTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ClientKilledMidMessage_RegistrationReleased_OthersUnaffected()
    {
        await using var server = await RelayTestServer.StartAsync();
        var (a, b, aId, bId) = await HonestPairAsync(server);
        await using var _a = a;
        await using var _b = b;

        for (var i = 0; i < 5; i++)
        {
            var uuid = Guid.NewGuid();
            using var victim = await RawWebSocket.ConnectAsync(server.Uri.Port).WithTimeout();
            await victim.SendRawAsync(RawWebSocket.TextFrame(TestRelayClient.Registration(uuid)));
            var response = await victim.ReadFrameAsync().WithTimeout();
            Assert.Contains("\"success\": true", Encoding.UTF8.GetString(response!.Value.Payload), StringComparison.Ordinal);

            // Half a frame (cut in the header on the first round, in the payload after), then the process "dies" (RST).
            var frame = RawWebSocket.TextFrame(TestRelayClient.PeerConnection(uuid, aId, new string('x', 2000)));
            await victim.SendRawAsync(frame.AsMemory(0, i == 0 ? 3 : frame.Length / 2));
            victim.Kill();
            await TaskTimeoutExtensions.WaitUntil(() => server.Services.GetRequiredService<IRelayRegistry>().Find(uuid) is null);
        }

        // A ClientWebSocket that sends the first fragment of a message and aborts.
        var last = Guid.NewGuid();
        await using (var partial = await TestRelayClient.ConnectAsync(server.Uri))
        {
            await partial.RegisterAsync(last);
            await partial.Socket.SendAsync(Encoding.UTF8.GetBytes("{\"source_uuid\": "), WebSocketMessageType.Text, endOfMessage: false, CancellationToken.None);
        }

        await TaskTimeoutExtensions.WaitUntil(() => server.RegisteredCount() == 2 && server.ConnectionCount() == 2);
        await AssertSignalsAsync(a, b, aId, bId);
    }

    [Fact]
    public async Task HalfOpenTcp_DetectedByKeepAlive_CleanedUpWithinConfiguredTime()
    {
        // Short enough to keep the test quick, long enough that the honest pair's pongs never miss on a loaded machine.
        var interval = TimeSpan.FromSeconds(1);
        var timeout = TimeSpan.FromSeconds(2);
        await using var server = await RelayTestServer.StartAsync(o =>
        {
            o.KeepAliveInterval = interval;
            o.KeepAliveTimeout = timeout;
        });
        await using var proxy = new LoopbackTcpProxy(server.Uri.Port);

        // The honest pair always has a read pending, as real clients do, so it answers the server's pings.
        await using var a = new ReconnectingTestClient(server.Uri, Guid.NewGuid(), seed: 1);
        await using var b = new ReconnectingTestClient(server.Uri, Guid.NewGuid(), seed: 2);
        a.Start();
        b.Start();
        await TaskTimeoutExtensions.WaitUntil(() => a.Registrations == 1 && b.Registrations == 1);

        var uuid = Guid.NewGuid();
        var vanishing = await TestRelayClient.ConnectAsync(new Uri($"ws://127.0.0.1:{proxy.Port}/"));
        await vanishing.RegisterAsync(uuid);
        Assert.NotNull(server.Services.GetRequiredService<IRelayRegistry>().Find(uuid));

        proxy.Freeze();

        // Detected within one ping interval plus the ping timeout; the slack covers a loaded CI machine.
        await TaskTimeoutExtensions.WaitUntil(
            () => server.Services.GetRequiredService<IRelayRegistry>().Find(uuid) is null,
            interval + timeout + TimeSpan.FromSeconds(10));
        await TaskTimeoutExtensions.WaitUntil(() => server.ConnectionCount() == 2);

        // The vanished peer is now unknown to its partner; the honest pair still works on its first connection.
        await a.SendAsync(TestRelayClient.PeerConnection(a.Id, uuid));
        var echo = await a.Received.ReadAsync().AsTask().WithTimeout();
        Assert.StartsWith($"Cannot forward peer connection message to peer {uuid}", echo["error"]!.GetValue<string>(), StringComparison.Ordinal);
        await a.SendAsync(TestRelayClient.PeerConnection(a.Id, b.Id, "offer-after-fault"));
        Assert.Equal("offer-after-fault", (await b.Received.ReadAsync().AsTask().WithTimeout())["description"]!.GetValue<string>());
        Assert.Equal(1, a.Registrations);
        Assert.Equal(1, b.Registrations);
        await vanishing.DisposeAsync();
    }

    [Fact]
    public async Task SlowReader_FloodedByOthers_AloneIsClosed1008_SendersKeepWorking()
    {
        await using var server = await RelayTestServer.StartAsync(o =>
        {
            // The default send_queue_capacity (256), for the slow reader and the senders alike (see the flood below).
            o.MessageRate = 0; // This test is about the send queue, not the rate limit.
            o.CloseTimeout = TimeSpan.FromSeconds(20);
        });
        var (honest, _, honestId, _) = await HonestPairAsync(server);
        await using var _h = honest;

        var slowId = Guid.NewGuid();
        await using var slow = await TestRelayClient.ConnectAsync(server.Uri);
        await slow.RegisterAsync(slowId);

        // Three senders flood the slow reader with 256 KiB offers until the relay gives up on it. Each sends fewer than
        // its own send_queue_capacity: after the slow reader is closed, every offer still to come is answered with an
        // error echoing it, so a sender whose reader falls behind on a loaded machine holds at most that many errors,
        // and is never itself a slow reader. Together they send more than the slow reader's queue and socket buffers
        // hold (the capacity and about 40 offers).
        var floodPerSender = server.Services.GetRequiredService<IOptions<RelayServerOptions>>().Value.SendQueueCapacity * 3 / 4;
        var big = new string('s', 256 * 1024);
        var senders = new List<(TestRelayClient Client, Guid Id)>();
        for (var i = 0; i < 3; i++)
        {
            var id = Guid.NewGuid();
            var client = await TestRelayClient.ConnectAsync(server.Uri);
            await client.RegisterAsync(id);
            senders.Add((client, id));
        }

        // Each sender reads everything the relay returns to it (errors about the slow reader) until its own sentinel,
        // a message it forwards to itself after its flood, so its own queue never fills.
        var disconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var readers = senders.Select(s => Task.Run(async () =>
        {
            var errors = 0;
            while (true)
            {
                var json = await s.Client.ReceiveJsonAsync(TimeSpan.FromSeconds(60));
                if (json["description"]?.GetValue<string>() == "sentinel")
                {
                    return errors;
                }

                if (json["error"]?.GetValue<string>() is { } error)
                {
                    Assert.StartsWith($"Cannot forward peer connection message to peer {slowId}", error, StringComparison.Ordinal);
                    errors++;
                    disconnected.TrySetResult();
                }
            }
        })).ToArray();

        var floods = senders.Select(s => Task.Run(async () =>
        {
            for (var n = 0; n < floodPerSender && !disconnected.Task.IsCompleted; n++)
            {
                await s.Client.SendTextAsync(TestRelayClient.PeerConnection(s.Id, slowId, big));
            }

            await s.Client.SendTextAsync(TestRelayClient.PeerConnection(s.Id, s.Id, "sentinel"));
        })).ToArray();

        await disconnected.Task.WithTimeout(TimeSpan.FromSeconds(60));
        var (code, reason) = await slow.ReceiveUntilCloseAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(RelayCloseCodes.PolicyViolation, code);
        Assert.StartsWith("Send queue full", reason, StringComparison.Ordinal);
        await Task.WhenAll(floods).WithTimeout(TimeSpan.FromSeconds(60));
        var errorCounts = await Task.WhenAll(readers).WithTimeout(TimeSpan.FromSeconds(60));
        Assert.True(errorCounts.Sum() >= 1);

        // Every sender is still registered and can still signal the honest client.
        foreach (var (client, id) in senders)
        {
            await client.SendTextAsync(TestRelayClient.PeerConnection(id, honestId, "still-here"));
            var got = await honest.ReceiveJsonAsync();
            Assert.Equal("still-here", got["description"]!.GetValue<string>());
            await client.DisposeAsync();
        }

        Assert.Null(server.Services.GetRequiredService<IRelayRegistry>().Find(slowId));
        output.WriteLine($"slow reader closed with {code}: {reason}");
    }

    [Fact]
    public async Task ServerRestart_ThousandDotNetClients_AllReRegisterAndEveryPairSignals()
    {
        const int Clients = 1000;
        var server = await RelayTestServer.StartAsync(o => o.MaxConnectionsPerIp = Clients * 2);
        var port = server.Uri.Port;
        var registrations = new int[Clients];
        var clients = new RelayClient[Clients];
        for (var i = 0; i < Clients; i++)
        {
            var index = i;
            clients[i] = new RelayClient(new RelayClientOptions
            {
                Address = server.Uri,
                Name = $"client-{i}",
                KeepAliveInterval = TimeSpan.Zero,

                // ProxyStore's back-off starts at 1 s; a faster start keeps the test short, the jitter spreads the storm.
                RetryPolicy = new ExponentialBackoffRetryPolicy(new Random(i))
                {
                    InitialDelay = TimeSpan.FromMilliseconds(100),
                    MaxDelay = TimeSpan.FromSeconds(2),
                    JitterFraction = 0.5,
                },
            });
            clients[i].StateChanged += (_, e) =>
            {
                if (e.State == RelayClientState.Registered)
                {
                    Interlocked.Increment(ref registrations[index]);
                }
            };
        }

        try
        {
            await Task.WhenAll(clients.Select(c => c.ConnectAsync())).WithTimeout(TimeSpan.FromSeconds(120));
            Assert.Equal(Clients, server.RegisteredCount());

            await server.DisposeAsync();
            server = await RelayTestServer.StartAsync(o => o.MaxConnectionsPerIp = Clients * 2, port: port);

            // Nobody reconnects them: each client re-registers by itself.
            await TaskTimeoutExtensions.WaitUntil(() => registrations.All(r => r >= 2), TimeSpan.FromSeconds(120));
            await TaskTimeoutExtensions.WaitUntil(() => server.RegisteredCount() == Clients);

            // Every pair signals in both directions.
            await Task.WhenAll(clients.Select((c, i) => c.SendAsync(clients[i ^ 1].Uuid, "offer", $"after-restart-{i}"))).WithTimeout(TimeSpan.FromSeconds(60));
            var received = await Task.WhenAll(clients.Select(c => c.Messages.ReadAsync().AsTask().WithTimeout(TimeSpan.FromSeconds(60))));
            for (var i = 0; i < Clients; i++)
            {
                Assert.Equal($"after-restart-{i ^ 1}", received[i].Description);
                Assert.Null(received[i].Error);
            }
        }
        finally
        {
            await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
            await server.DisposeAsync();
        }
    }

    internal static async Task<(TestRelayClient A, TestRelayClient B, Guid AId, Guid BId)> HonestPairAsync(RelayTestServer server)
    {
        var aId = Guid.NewGuid();
        var bId = Guid.NewGuid();
        var a = await TestRelayClient.ConnectAsync(server.Uri);
        var b = await TestRelayClient.ConnectAsync(server.Uri);
        await a.RegisterAsync(aId);
        await b.RegisterAsync(bId);
        await AssertSignalsAsync(a, b, aId, bId);
        return (a, b, aId, bId);
    }

    internal static async Task AssertSignalsAsync(TestRelayClient a, TestRelayClient b, Guid aId, Guid bId)
    {
        var token = Guid.NewGuid().ToString("N");
        await a.SendTextAsync(TestRelayClient.PeerConnection(aId, bId, "offer-" + token));
        JsonObject got = await b.ReceiveJsonAsync();
        Assert.Equal("offer-" + token, got["description"]!.GetValue<string>());
        await b.SendTextAsync(TestRelayClient.PeerConnection(bId, aId, "answer-" + token, type: "answer"));
        got = await a.ReceiveJsonAsync();
        Assert.Equal("answer-" + token, got["description"]!.GetValue<string>());
    }
}
