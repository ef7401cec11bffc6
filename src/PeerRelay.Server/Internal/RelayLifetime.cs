using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerRelay.Protocol;

namespace PeerRelay.Server.Internal;

/// <summary>
/// Graceful drain: when the host starts stopping, refuse new connections (503, <c>/healthz</c> not ready) and
/// close every client with 1001; stopping waits, bounded by the close timeout, for them to go.
/// </summary>
internal sealed partial class RelayLifetime(
    IHostApplicationLifetime lifetime,
    ClientRegistry registry,
    Microsoft.Extensions.Options.IOptions<RelayServerOptions> options,
    TimeProvider timeProvider,
    ILogger<RelayLifetime> logger) : IHostedService
{
    private const string ShutdownReason = "Server is shutting down.";
    private CancellationTokenRegistration _stopping;
    private volatile bool _draining;

    /// <summary>Gets a value indicating whether the relay is draining: it accepts no new connections.</summary>
    public bool IsDraining => _draining;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _stopping = lifetime.ApplicationStopping.Register(static state => ((RelayLifetime)state!).Drain(), this);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Drain();
        var deadline = timeProvider.GetUtcNow() + options.Value.CloseTimeout + TimeSpan.FromSeconds(1);
        while (registry.ConnectionCount > 0 && timeProvider.GetUtcNow() < deadline && !cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20), timeProvider, CancellationToken.None);
        }

        await _stopping.DisposeAsync();
    }

    private void Drain()
    {
        if (_draining)
        {
            return;
        }

        _draining = true;
        var count = 0;
        foreach (var connection in registry.Connections)
        {
            connection.Close(RelayCloseCodes.GoingAway, ShutdownReason);
            count++;
        }

        Log.Draining(logger, count);
    }

    private static partial class Log
    {
        [LoggerMessage(200, LogLevel.Information, "Relay stopping: refusing new connections and closing {Count} clients with 1001")]
        public static partial void Draining(ILogger logger, int count);
    }
}
