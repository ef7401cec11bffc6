using System.Diagnostics;

namespace PeerRelay.LoadTest;

/// <summary>
/// Registers N clients with bounded concurrency and keeps them open; then checks that the relay still forwards
/// between the first and the last of them.
/// </summary>
internal sealed class ConnectScenario(LoadContext context) : ILoadScenario
{
    private LoadClient?[] _clients = [];

    public Task SetupAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public async Task<WorkerResult> RunAsync(Action windowStart, Action windowEnd, CancellationToken cancellationToken = default)
    {
        var result = new WorkerResult();
        var count = context.Options.ShareOf(context.Options.Clients);
        _clients = new LoadClient?[count];
        var next = -1;
        windowStart();
        var started = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, Math.Min(count, context.Options.EffectiveConcurrency)).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                try
                {
                    _clients[i] = await LoadClient.ConnectAndRegisterAsync(context, i, LoadContext.NewId(), cancellationToken);
                    result.AddUnits(1);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    result.Error(ex);
                }
            }
        }).ToArray();
        await Task.WhenAll(workers);
        result.WindowSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        windowEnd();
        result.ForwardCheck = await CheckForwardingAsync(result, cancellationToken);
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            if (client is not null)
            {
                await client.DisposeAsync();
            }
        }
    }

    private async Task<bool> CheckForwardingAsync(WorkerResult result, CancellationToken cancellationToken)
    {
        var from = _clients.FirstOrDefault(c => c is not null);
        var to = _clients.LastOrDefault(c => c is not null);
        if (from is null || to is null || from == to)
        {
            return false;
        }

        var message = context.Protocol.Message(from.Id, to.Id, offer: true, 200, out _);
        var buffer = new byte[8192];
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            await from.SendAsync(message, timeout.Token);
            var n = await to.ReceiveAsync(buffer, timeout.Token);
            return n > 0 && context.Protocol.IsForwarded(buffer.AsSpan(0, n));
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            result.Error("forward check: " + ex.Message);
            return false;
        }
    }
}
