using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using PeerRelay.Server.Internal;
using PeerRelay.Server.Tests.WebSockets;
using PeerRelay.Testing;

namespace PeerRelay.Server.Tests.Hardening;

/// <summary>
/// The soak (issue 7, item 4): stable pairs signal steadily for the whole run while churn workers keep clients
/// connecting, registering, forwarding and leaving in every way a client can leave. At the end it checks that no
/// registration or connection is left, that no message between live pairs was lost, and how memory compares with
/// the baseline. Runs against the relay's default limits (only max_connections_per_ip is lifted: every client
/// comes from 127.0.0.1).
/// </summary>
internal sealed class SoakRun
{
    public required TimeSpan Duration { get; init; }

    public int StablePairs { get; init; } = 100;

    public int ChurnWorkers { get; init; } = 16;

    public TimeSpan StableInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    public required Action<string> Log { get; init; }

    public async Task<SoakResult> RunAsync()
    {
        var counters = new Dictionary<string, long>();
        var countersLock = new Lock();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == RelayMetrics.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = instrument.Name;
            foreach (var tag in tags)
            {
                key += $"[{tag.Key}={tag.Value}]";
            }

            lock (countersLock)
            {
                // Observable counters (the per-message counts) report their total when the listener collects.
                counters[key] = instrument.IsObservable ? value : counters.GetValueOrDefault(key) + value;
            }
        });
        listener.Start();

        await using var server = await RelayTestServer.StartAsync(o =>
        {
            // Churn from one address by design: no per-address connection caps.
            o.MaxConnectionsPerIp = 1_000_000;
            o.NewConnectionRate = 0;
        });
        var stable = new List<(ReconnectingTestClient Client, ReconnectingTestClient Partner)>();
        var clients = new List<ReconnectingTestClient>();
        for (var i = 0; i < StablePairs * 2; i++)
        {
            var client = new ReconnectingTestClient(server.Uri, Guid.NewGuid(), seed: i);
            clients.Add(client);
            client.Start();
        }

        for (var i = 0; i < clients.Count; i++)
        {
            stable.Add((clients[i], clients[i ^ 1]));
        }

        await TaskTimeoutExtensions.WaitUntil(() => clients.All(c => c.Registrations == 1), TimeSpan.FromSeconds(120));
        var baseline = ManagedMemory();
        Log($"baseline: {clients.Count} stable clients registered, managed heap {baseline / 1e6:0.0} MB, working set {Environment.WorkingSet / 1e6:0.0} MB");

        using var stop = new CancellationTokenSource(Duration);
        var sent = new long[clients.Count];
        var received = new long[clients.Count];
        var outOfOrder = 0L;
        var senders = clients.Select((c, i) => Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(StableInterval);
            var partner = stable[i].Partner;
            while (await timer.WaitForNextTickAsync(CancellationToken.None) && !stop.IsCancellationRequested)
            {
                var seq = sent[i] + 1;
                await c.SendAsync(TestRelayClient.PeerConnection(c.Id, partner.Id, seq.ToString(CultureInfo.InvariantCulture)));
                sent[i] = seq;
            }
        })).ToArray();
        var receivers = clients.Select((c, i) => Task.Run(async () =>
        {
            await foreach (var message in c.Received.ReadAllAsync())
            {
                var seq = long.Parse(message["description"]!.GetValue<string>(), CultureInfo.InvariantCulture);
                if (message["error"]?.GetValue<string>() is not null || seq != received[i] + 1)
                {
                    Interlocked.Increment(ref outOfOrder);
                }

                received[i] = seq;
            }
        })).ToArray();

        var cycles = 0L;
        var churn = Enumerable.Range(0, ChurnWorkers).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            while (!stop.IsCancellationRequested)
            {
                await ChurnCycleAsync(server, random);
                Interlocked.Increment(ref cycles);
            }
        })).ToArray();

        var watch = Stopwatch.StartNew();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(30), stop.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            Log($"{watch.Elapsed.TotalSeconds:0} s: {Interlocked.Read(ref cycles)} churn cycles, {server.ConnectionCount()} connections, {server.RegisteredCount()} registered, managed heap {ManagedMemory(collect: false) / 1e6:0.0} MB");
        }

        await Task.WhenAll(churn).WithTimeout(TimeSpan.FromSeconds(120));
        await Task.WhenAll(senders).WithTimeout(TimeSpan.FromSeconds(60));

        // Every message a live pair sent arrives, in order.
        await TaskTimeoutExtensions.WaitUntil(
            () => Enumerable.Range(0, clients.Count).All(i => received[i] == sent[i ^ 1]),
            TimeSpan.FromSeconds(60));
        var lost = Enumerable.Range(0, clients.Count).Sum(i => sent[i ^ 1] - received[i]);
        var reconnects = clients.Sum(c => c.Registrations - 1);

        // Memory is measured with the same stable clients connected as at the baseline, churn gone.
        await TaskTimeoutExtensions.WaitUntil(() => server.ConnectionCount() == clients.Count, TimeSpan.FromSeconds(60));
        var end = ManagedMemory();
        var workingSet = Environment.WorkingSet;

        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }

        await Task.WhenAll(receivers).WithTimeout(TimeSpan.FromSeconds(60));
        var limiter = server.Services.GetRequiredService<ConnectionLimiter>();
        await TaskTimeoutExtensions.WaitUntil(
            () => server.RegisteredCount() == 0 && server.ConnectionCount() == 0 && limiter.Count == 0,
            TimeSpan.FromSeconds(60));

        listener.RecordObservableInstruments();
        Dictionary<string, long> snapshot;
        lock (countersLock)
        {
            snapshot = new Dictionary<string, long>(counters);
        }

        return new SoakResult(
            Duration,
            clients.Count,
            Interlocked.Read(ref cycles),
            sent.Sum(),
            lost,
            Interlocked.Read(ref outOfOrder),
            reconnects,
            baseline,
            end,
            workingSet,
            server.RegisteredCount(),
            server.ConnectionCount(),
            snapshot);
    }

    /// <summary>One churn cycle: a pair that signals and leaves, by a random way of leaving.</summary>
    private static async Task ChurnCycleAsync(RelayTestServer server, Random random)
    {
        var aId = Guid.NewGuid();
        var bId = Guid.NewGuid();
        switch (random.Next(5))
        {
            case 0:
                // Connect and leave without registering.
                await using (var idle = await TestRelayClient.ConnectAsync(server.Uri))
                {
                    await idle.CloseAsync();
                }

                return;
            case 1:
                // Killed in the middle of a frame after registering.
                using (var raw = await RawWebSocket.ConnectAsync(server.Uri.Port))
                {
                    await raw.SendRawAsync(RawWebSocket.TextFrame(TestRelayClient.Registration(aId)));
                    await raw.ReadFrameAsync().WithTimeout();
                    var frame = RawWebSocket.TextFrame(TestRelayClient.PeerConnection(aId, bId, "half"));
                    await raw.SendRawAsync(frame.AsMemory(0, frame.Length / 2));
                    raw.Kill();
                }

                return;
            default:
                break;
        }

        var a = await TestRelayClient.ConnectAsync(server.Uri);
        var b = await TestRelayClient.ConnectAsync(server.Uri);
        try
        {
            await a.RegisterAsync(aId);
            await b.RegisterAsync(bId);
            await FaultTests.AssertSignalsAsync(a, b, aId, bId);
            if (random.Next(2) == 0)
            {
                await a.CloseAsync();
                await b.CloseAsync();
            }
        }
        finally
        {
            // Without a close above, this aborts both: the process died.
            await a.DisposeAsync();
            await b.DisposeAsync();
        }
    }

    private static long ManagedMemory(bool collect = true)
    {
        if (collect)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
        }

        return GC.GetTotalMemory(forceFullCollection: collect);
    }
}

/// <summary>What a soak run measured.</summary>
internal sealed record SoakResult(
    TimeSpan Duration,
    int StableClients,
    long ChurnCycles,
    long StableMessagesSent,
    long StableMessagesLost,
    long StableOutOfOrder,
    int StableReconnects,
    long BaselineManagedBytes,
    long EndManagedBytes,
    long EndWorkingSetBytes,
    int RegisteredLeft,
    int ConnectionsLeft,
    IReadOnlyDictionary<string, long> Counters)
{
    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"| measure | value |");
        sb.AppendLine("| --- | --- |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| duration | {Duration.TotalSeconds:0} s |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| stable clients (pairs signalling every 100 ms) | {StableClients} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| churn cycles (pairs that connect, register, signal and leave; idle sockets; kills mid-frame) | {ChurnCycles} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| stable messages sent / lost / out of order | {StableMessagesSent} / {StableMessagesLost} / {StableOutOfOrder} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| stable client reconnects | {StableReconnects} |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| managed heap: baseline → end (same stable clients connected) | {BaselineManagedBytes / 1e6:0.0} MB → {EndManagedBytes / 1e6:0.0} MB |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| working set at end (server and all clients, one process) | {EndWorkingSetBytes / 1e6:0.0} MB |");
        sb.AppendLine(CultureInfo.InvariantCulture, $"| registrations / connections left after everyone left | {RegisteredLeft} / {ConnectionsLeft} |");
        foreach (var (name, value) in Counters.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!name.Contains(".active", StringComparison.Ordinal) && !name.Contains(".registered", StringComparison.Ordinal))
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"| `{name}` | {value} |");
            }
        }

        return sb.ToString();
    }
}
