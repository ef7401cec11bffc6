using System.Diagnostics;

namespace PeerRelay.LoadTest;

/// <summary>
/// Cycles of connect, register, forward one message to a long-lived partner (who receives it), close with the full
/// handshake; C cycles run in parallel.
/// </summary>
internal sealed class ChurnScenario(LoadContext context) : ILoadScenario
{
    private readonly List<Partner> _partners = [];
    private readonly MeasuredWindow _window = new();
    private volatile bool _stopping;
    private int _nextIndex;

    public async Task SetupAsync(CancellationToken cancellationToken = default)
    {
        var loops = context.Options.ShareOf(context.Options.EffectiveConcurrency);
        for (var i = 0; i < loops; i++)
        {
            var client = await LoadClient.ConnectAndRegisterAsync(context, Interlocked.Increment(ref _nextIndex), LoadContext.NewId(), cancellationToken);
            _partners.Add(new Partner(client));
        }
    }

    public async Task<WorkerResult> RunAsync(Action windowStart, Action windowEnd, CancellationToken cancellationToken = default)
    {
        var result = new WorkerResult();
        var receivers = _partners.Select(p => Task.Run(() => ReceiveAsync(p, result, cancellationToken), cancellationToken)).ToArray();
        var loops = _partners.Select(p => Task.Run(() => CycleAsync(p, result, cancellationToken), cancellationToken)).ToArray();
        result.WindowSeconds = await _window.RunAsync(context.Options, windowStart, windowEnd, cancellationToken);

        _stopping = true;
        await Task.WhenAll(loops);
        foreach (var partner in _partners)
        {
            await partner.Client.DisposeAsync();
        }

        await Task.WhenAll(receivers);
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var partner in _partners)
        {
            await partner.Client.DisposeAsync();
        }
    }

    private async Task CycleAsync(Partner partner, WorkerResult result, CancellationToken cancellationToken)
    {
        while (!_stopping)
        {
            try
            {
                var id = LoadContext.NewId();
                var client = await LoadClient.ConnectAndRegisterAsync(context, Interlocked.Increment(ref _nextIndex), id, cancellationToken);
                try
                {
                    var message = context.Protocol.Message(id, partner.Client.Id, offer: true, 200, out var offset);
                    TargetProtocol.Stamp(message, offset, Stopwatch.GetTimestamp());
                    await client.SendAsync(message, cancellationToken);
                    if (!await partner.Received.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken))
                    {
                        result.Error("the partner did not receive the message within 10 s");
                    }

                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    timeout.CancelAfter(TimeSpan.FromSeconds(10));
                    await client.CloseAsync(timeout.Token);
                }
                finally
                {
                    await client.DisposeAsync();
                }

                if (_window.Measuring)
                {
                    result.AddUnits(1);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                result.Error(ex);
            }
        }
    }

    private async Task ReceiveAsync(Partner partner, WorkerResult result, CancellationToken cancellationToken)
    {
        var buffer = new byte[8192];
        try
        {
            while (true)
            {
                var n = await partner.Client.ReceiveAsync(buffer, cancellationToken);
                if (n < 0)
                {
                    if (!_stopping)
                    {
                        result.Error($"server closed partner {partner.Client.Id}");
                    }

                    return;
                }

                if (!context.Protocol.IsForwarded(buffer.AsSpan(0, n)))
                {
                    result.Error("partner got: " + System.Text.Encoding.UTF8.GetString(buffer, 0, Math.Min(n, 300)));
                }

                partner.Received.Release();
            }
        }
        catch (Exception ex) when (_stopping || ex is OperationCanceledException)
        {
        }
        catch (Exception ex)
        {
            result.Error(ex);
        }
    }

    private sealed class Partner(LoadClient client)
    {
        public LoadClient Client { get; } = client;

        public SemaphoreSlim Received { get; } = new(0);
    }
}
