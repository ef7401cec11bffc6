using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PeerRelay.Protocol;

namespace PeerRelay.Server.Internal;

/// <summary>
/// Graceful drain: when the host starts stopping, refuse new connections (accepted and closed with 1013,
/// <c>/healthz</c> 503) and close every client with 1001; stopping waits, bounded by the close timeout, for them to go,
/// and aborts what is left at that deadline.
/// </summary>
/// <remarks>
/// The drain runs in <see cref="StoppingAsync"/>, which the host calls before any <see cref="IHostedService.StopAsync"/>
/// and so before Kestrel stops listening (minimal hosting registers the server last, so it stops first): while
/// clients are being closed, <c>/healthz</c> still answers 503 and new upgrades are still closed with 1013 instead of
/// meeting a refused TCP connection.
/// </remarks>
internal sealed partial class RelayLifetime(
    IHostApplicationLifetime lifetime,
    ClientRegistry registry,
    Microsoft.Extensions.Options.IOptions<RelayServerOptions> options,
    TimeProvider timeProvider,
    ILogger<RelayLifetime> logger) : IHostedLifecycleService
{
    internal const string ShutdownReason = "Server is shutting down.";

    /// <summary>How long a stop waits for the connections it aborted at its deadline to end (they end at once unless stuck).</summary>
    private static readonly TimeSpan AbortedEndWait = TimeSpan.FromSeconds(2);

    private CancellationTokenRegistration _stopping;
    private volatile bool _draining;

    /// <summary>Gets a value indicating whether the relay is draining: it accepts no new connections.</summary>
    public bool IsDraining => _draining;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _stopping = lifetime.ApplicationStopping.Register(static state => ((RelayLifetime)state!).Drain(), this);
        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => DrainAsync(cancellationToken);

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await DrainAsync(cancellationToken);
        await _stopping.DisposeAsync();
    }

    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        Drain();
        var deadline = timeProvider.GetUtcNow() + options.Value.CloseTimeout + TimeSpan.FromSeconds(1);
        while (registry.ConnectionCount > 0 && timeProvider.GetUtcNow() < deadline && !cancellationToken.IsCancellationRequested)
        {
            // A connection accepted just as the drain began (past the handler's check) is closed here too.
            foreach (var connection in registry.EnumerateConnections())
            {
                if (!connection.IsClosing)
                {
                    connection.Close(RelayCloseCodes.GoingAway, ShutdownReason);
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), timeProvider, CancellationToken.None);
        }

        if (registry.ConnectionCount > 0 && !cancellationToken.IsCancellationRequested)
        {
            // Past the deadline, what is still open is aborted, so that no connection outlives the stop: a client that
            // connected while the relay drained was closed with 1013 less than close_timeout ago, and its own close
            // time-out would end it only after the host (an application that embeds the relay goes on running).
            var remaining = registry.EnumerateConnections().ToList();
            Log.AbortedAtDeadline(logger, remaining.Count);
            foreach (var connection in remaining)
            {
                connection.AbortNow("the relay stopped before the client answered its close");
            }

            await Task.WhenAll(remaining.Select(connection => connection.WaitEndedAsync(AbortedEndWait, CancellationToken.None)));
        }
    }

    /// <summary>
    /// Starts draining without stopping the host (the admin API's drain): new clients are turned away with 1001,
    /// <c>/readyz</c> answers 503 and every client is closed with 1001, so that they reconnect to another node.
    /// </summary>
    /// <returns>False when the relay was draining already.</returns>
    public bool BeginDrain()
    {
        if (_draining)
        {
            return false;
        }

        Drain();
        return true;
    }

    private void Drain()
    {
        if (_draining)
        {
            return;
        }

        _draining = true;
        var count = 0;
        foreach (var connection in registry.EnumerateConnections())
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

        [LoggerMessage(201, LogLevel.Information, "Relay stopping: {Count} connections still open at the drain's deadline (close_timeout + 1 s) were aborted")]
        public static partial void AbortedAtDeadline(ILogger logger, int count);
    }
}
