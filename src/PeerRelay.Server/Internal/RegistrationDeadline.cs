using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerRelay.Protocol;

namespace PeerRelay.Server.Internal;

/// <summary>
/// Closes, with 1008, every connection that has not registered within
/// <see cref="RelayServerOptions.RegistrationTimeout"/> of opening, so idle sockets cannot hold connection slots.
/// One sweep over the open connections per quarter of the timeout (at most once a second) instead of a timer per
/// connection.
/// </summary>
internal sealed partial class RegistrationDeadline(
    ClientRegistry registry,
    IOptions<RelayServerOptions> options,
    RelayMetrics metrics,
    TimeProvider timeProvider,
    ILogger<RegistrationDeadline> logger) : BackgroundService
{
    /// <summary>Reason of the 1008 close.</summary>
    public const string Reason = "Registration deadline passed.";

    private readonly LogThrottle _log = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var timeout = options.Value.RegistrationTimeout;
        if (timeout <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(ConnectionSweeper.PeriodFor(timeout), timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                Sweep(timeout);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    internal int Sweep(TimeSpan timeout)
    {
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        var closed = 0;
        foreach (var connection in registry.EnumerateConnections())
        {
            if (connection.Registration is not null || connection.IsClosing
                || System.Diagnostics.Stopwatch.GetElapsedTime(connection.OpenedTimestamp, now) < timeout)
            {
                continue;
            }

            metrics.LimitHit("registration_timeout");
            if (_log.ShouldLog(out var skipped))
            {
                Log.DeadlinePassed(logger, connection.Id, connection.Remote, timeout.TotalSeconds, skipped);
            }

            connection.CloseForAbuse(Reason);
            closed++;
        }

        return closed;
    }

    private static partial class Log
    {
        [LoggerMessage(420, LogLevel.Information, "Connection {ConnectionId} from {Remote} did not register within registration_timeout ({Seconds} s); closing with 1008 ({Skipped} more not logged)")]
        public static partial void DeadlinePassed(ILogger logger, long connectionId, string remote, double seconds, int skipped);
    }
}
