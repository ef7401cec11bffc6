using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace PeerRelay.Server.Internal;

/// <summary>
/// The relay's one clock for connection time-outs: a few times per shortest time-out it visits every connection
/// (<see cref="RelayConnection.OnTick"/>), which sends keep-alive pings and aborts a connection whose ping went
/// unanswered (<c>ping_timeout</c>) or whose close handshake overran (<c>close_timeout</c>), and has a client whose
/// sending stayed stuck for <c>slow_reader_timeout</c> closed. One timer for all
/// clients instead of one or two per client keeps an idle connection small.
/// </summary>
internal sealed class ConnectionSweeper(ClientRegistry registry, IOptions<RelayServerOptions> options, TimeProvider timeProvider) : BackgroundService
{
    /// <summary>How often the sweep runs: a quarter of the shortest time-out, between 50 ms and 1 s.</summary>
    public static TimeSpan PeriodOf(RelayServerOptions options)
    {
        var shortest = options.CloseTimeout;
        if (options.KeepAliveInterval > TimeSpan.Zero)
        {
            shortest = TimeSpan.FromTicks(Math.Min(shortest.Ticks, Math.Min(options.KeepAliveInterval.Ticks, options.KeepAliveTimeout.Ticks)));
        }

        if (options.SlowReaderTimeout > TimeSpan.Zero)
        {
            shortest = TimeSpan.FromTicks(Math.Min(shortest.Ticks, options.SlowReaderTimeout.Ticks));
        }

        return PeriodFor(shortest);
    }

    /// <summary>A sweep period for a time-out: a quarter of it, between 50 ms and 1 s (also the registration deadline's).</summary>
    public static TimeSpan PeriodFor(TimeSpan timeout) =>
        TimeSpan.FromTicks(Math.Clamp(timeout.Ticks / 4, TimeSpan.FromMilliseconds(50).Ticks, TimeSpan.FromSeconds(1).Ticks));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(PeriodOf(options.Value), timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var now = Stopwatch.GetTimestamp();
                foreach (var connection in registry.EnumerateConnections())
                {
                    connection.OnTick(now);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
