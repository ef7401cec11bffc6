using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PeerRelay.Testing;

namespace PeerRelay.Server.Tests;

public sealed class ObservabilityTests
{
    [Fact]
    public async Task ConnectedClientsLine_ListsClientsBelowTheLimit()
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await RelayTestServer.StartAsync(
            o => o.ConnectedClientLogInterval = TimeSpan.FromMilliseconds(50),
            host: b => b.Logging.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
        var (a, aId) = await ForwardingTests.ConnectRegisteredAsync(server, "alpha");
        var (b, bId) = await ForwardingTests.ConnectRegisteredAsync(server, "beta");
        await using var _a = a;
        await using var _b = b;

        await TaskTimeoutExtensions.WaitUntil(() => logs.Lines.Any(l => l.Contains(": Connected clients: 2", StringComparison.Ordinal)));
        var line = logs.Lines.First(l => l.Contains(": Connected clients: 2", StringComparison.Ordinal));
        Assert.Contains($"{aId} (alpha)", line, StringComparison.Ordinal);
        Assert.Contains($"{bId} (beta)", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConnectedClientsLine_AtTheLimit_OnlyCounts()
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await RelayTestServer.StartAsync(
            o =>
            {
                o.ConnectedClientLogInterval = TimeSpan.FromMilliseconds(50);
                o.ConnectedClientLogLimit = 1;
            },
            host: b => b.Logging.AddProvider(logs).SetMinimumLevel(LogLevel.Information));
        var (a, aId) = await ForwardingTests.ConnectRegisteredAsync(server, "alpha");
        await using var _a = a;
        await TaskTimeoutExtensions.WaitUntil(() => logs.Lines.Any(l => l.Contains(": Connected clients: 1 |", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task DropsAndRejections_AreCountedByReason()
    {
        await using var server = await RelayTestServer.StartAsync();
        var factory = server.Services.GetRequiredService<IMeterFactory>();
        var counts = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, factory))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var reason = string.Empty;
            foreach (var tag in tags)
            {
                if (tag.Key == "reason")
                {
                    reason = "/" + tag.Value;
                }
            }

            // Observable counters (the per-message counts) report their total when the listener collects.
            counts.AddOrUpdate(instrument.Name + reason, value, (_, old) => instrument.IsObservable ? value : old + value);
        });
        listener.Start();

        var (a, aId) = await ForwardingTests.ConnectRegisteredAsync(server);
        await using var _a = a;
        await a.SendTextAsync(TestRelayClient.PeerConnection(aId, Guid.NewGuid()));
        await a.ReceiveJsonAsync();
        await a.SendTextAsync(TestRelayClient.PeerConnection(aId, aId));
        await a.ReceiveJsonAsync();
        await a.SendTextAsync("{oops");
        await a.ReceiveCloseAsync();
        await TaskTimeoutExtensions.WaitUntil(() => server.ConnectionCount() == 0);
        listener.RecordObservableInstruments();

        Assert.Equal(1, counts.GetValueOrDefault("peerrelay.messages.dropped/unknown_peer"));
        Assert.Equal(1, counts.GetValueOrDefault("peerrelay.messages.forwarded"));
        Assert.Equal(1, counts.GetValueOrDefault("peerrelay.messages.rejected/decode"));
        Assert.Equal(4, counts.GetValueOrDefault("peerrelay.messages.received"));
        Assert.Equal(0, counts.GetValueOrDefault("peerrelay.connections.active"));
        Assert.Equal(0, counts.GetValueOrDefault("peerrelay.clients.registered"));
    }
}
