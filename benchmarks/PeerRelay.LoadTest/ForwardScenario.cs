using System.Diagnostics;

namespace PeerRelay.LoadTest;

/// <summary>
/// P pairs ping-pong offers and answers in a closed loop (one message in flight per pair). Each message carries
/// the sender's timestamp; the receiver records the one-hop latency and answers at once.
/// </summary>
internal sealed class ForwardScenario(LoadContext context) : ILoadScenario
{
    private readonly List<End> _ends = [];
    private readonly MeasuredWindow _window = new();
    private volatile bool _stopping;

    public async Task SetupAsync(CancellationToken cancellationToken = default)
    {
        var pairs = context.Options.ShareOf(context.Options.Pairs);
        var size = context.Options.Size;
        for (var p = 0; p < pairs; p++)
        {
            var a = await LoadClient.ConnectAndRegisterAsync(context, 2 * p, LoadContext.NewId(), cancellationToken);
            var b = await LoadClient.ConnectAndRegisterPeerAsync(context, 2 * p + 1, LoadContext.NewId(), cancellationToken);
            var toB = context.Protocol.Message(a.Id, b.Id, offer: true, size, out var offsetB);
            var toA = context.Protocol.Message(b.Id, a.Id, offer: false, size, out var offsetA);
            _ends.Add(new End(a, toB, offsetB, Starts: true));
            _ends.Add(new End(b, toA, offsetA, Starts: false));
        }
    }

    public async Task<WorkerResult> RunAsync(Action windowStart, Action windowEnd, CancellationToken cancellationToken = default)
    {
        var result = new WorkerResult();
        var loops = _ends.Select(end => Task.Run(() => LoopAsync(end, result, cancellationToken), cancellationToken)).ToArray();
        result.WindowSeconds = await _window.RunAsync(context.Options, windowStart, windowEnd, cancellationToken);

        // Stop: the message in flight ends at whichever side gets it; the other side's receive is aborted.
        _stopping = true;
        await Task.WhenAny(Task.WhenAll(loops), Task.Delay(TimeSpan.FromSeconds(1), cancellationToken));
        foreach (var end in _ends)
        {
            await end.Client.DisposeAsync();
        }

        await Task.WhenAll(loops);
        result.Latency = new LatencyHistogram();
        foreach (var end in _ends)
        {
            result.AddUnits(end.Count);
            result.Latency.Merge(end.Latency);
        }

        return result;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var end in _ends)
        {
            await end.Client.DisposeAsync();
        }
    }

    private async Task LoopAsync(End end, WorkerResult result, CancellationToken cancellationToken)
    {
        var buffer = new byte[Math.Max(8192, context.Options.Size * 2)];
        var nsPerTick = 1e9 / Stopwatch.Frequency;
        try
        {
            if (end.Starts)
            {
                await SendAsync(end, cancellationToken);
            }

            while (!_stopping)
            {
                var n = await end.Client.ReceiveAsync(buffer, cancellationToken);
                var now = Stopwatch.GetTimestamp();
                if (n < 0)
                {
                    result.Error($"server closed client {end.Client.Id}");
                    return;
                }

                var message = buffer.AsSpan(0, n);
                if (!context.Protocol.IsForwarded(message))
                {
                    result.Error("not a forwarded message: " + System.Text.Encoding.UTF8.GetString(message[..Math.Min(n, 300)]));
                    return;
                }

                if (_window.Measuring)
                {
                    var stamp = TargetProtocol.ReadStamp(message);
                    end.Latency.Record((long)((now - stamp) * nsPerTick));
                    end.Count++;
                }

                if (!_stopping)
                {
                    await SendAsync(end, cancellationToken);
                }
            }
        }
        catch (Exception ex) when (_stopping || ex is OperationCanceledException)
        {
            // The run is over; the socket was aborted under the pending receive.
        }
        catch (Exception ex)
        {
            result.Error(ex);
        }
    }

    private static ValueTask SendAsync(End end, CancellationToken cancellationToken)
    {
        TargetProtocol.Stamp(end.Message, end.StampOffset, Stopwatch.GetTimestamp());
        return end.Client.SendAsync(end.Message, cancellationToken);
    }

    private sealed record End(LoadClient Client, byte[] Message, int StampOffset, bool Starts)
    {
        public long Count { get; set; }

        public LatencyHistogram Latency { get; } = new();
    }
}
