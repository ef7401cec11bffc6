using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace PeerRelay.Server.Internal;

/// <summary>
/// Logs "Connected clients: N" every <see cref="RelayServerOptions.ConnectedClientLogInterval"/>, listing the clients
/// one per line while there are fewer than <see cref="RelayServerOptions.ConnectedClientLogLimit"/>, as the
/// reference does.
/// </summary>
internal sealed partial class ConnectedClientsLogger(
    ClientRegistry registry,
    IOptions<RelayServerOptions> options,
    TimeProvider timeProvider,
    ILogger<ConnectedClientsLogger> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.ConnectedClientLogInterval;
        if (interval <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(interval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                LogOnce();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    internal void LogOnce()
    {
        var count = registry.RegisteredCount;
        var limit = options.Value.ConnectedClientLogLimit;
        if (count >= limit || count == 0)
        {
            Log.ConnectedClients(logger, count, string.Empty);
            return;
        }

        var list = new StringBuilder();
        foreach (var registration in registry.SnapshotRegistrations(limit))
        {
            list.Append(Environment.NewLine).Append("  - ").Append(registration.Uuid).Append(" (").Append(registration.Name)
                .Append("), user ").Append(registration.User);
        }

        Log.ConnectedClients(logger, count, list.ToString());
    }

    private static partial class Log
    {
        [LoggerMessage(300, LogLevel.Information, "Connected clients: {Count}{ClientList}")]
        public static partial void ConnectedClients(ILogger logger, int count, string clientList);
    }
}
