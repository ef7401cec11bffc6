using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerRelay.Protocol;
using PeerRelay.Server.Authentication;

namespace PeerRelay.Server.Internal;

/// <summary>
/// The per-message and per-user limits the relay logic consults: the message rate of each connection
/// (<see cref="RelayServerOptions.MessageRate"/>: over it the connection is slowed, never refused) and the registered
/// clients of each user (<see cref="RelayServerOptions.MaxClientsPerUser"/>). Each refusal is answered, counted and
/// logged.
/// </summary>
internal sealed partial class RelayLimits(
    IOptions<RelayServerOptions> options,
    RelayMetrics metrics,
    TimeProvider timeProvider,
    ILogger<RelayLimits> logger)
{
    /// <summary>Reason of the 1008 close after sustained flooding.</summary>
    public const string RateAbuseReason = "Message rate limit exceeded.";

    /// <summary>Reason of the 1008 close after a registration over the per-user limit.</summary>
    public const string TooManyClientsReason = "Too many clients registered for this user.";

    private readonly RelayServerOptions _options = options.Value;
    private readonly bool _stopwatchClock = ReferenceEquals(timeProvider, TimeProvider.System); // Its timestamps are Stopwatch's.

    // Client-caused lines: at most one per second per cause, with the count skipped (issue 13).
    private readonly LogThrottle _rateLimitedLog = new();
    private readonly LogThrottle _rateAbuseLog = new();
    private readonly LogThrottle _tooManyClientsLog = new();

    /// <summary>
    /// Charges one message to the connection's token bucket. Returns how long the connection must not be read before
    /// the message is acted on (zero: at once; over the rate the relay slows the sender through TCP flow control
    /// instead of refusing anything), or null when the connection is now closed for flooding (1008) and the message
    /// is to be ignored.
    /// </summary>
    /// <param name="connection">The connection the message came from.</param>
    /// <param name="now">A <see cref="Stopwatch"/> timestamp read for this message, or 0; set when this reads one, so
    /// that the router's forward-duration metric reads the clock no second time.</param>
    public TimeSpan? Throttle(RelayConnection connection, ref long now)
    {
        var rate = _options.MessageRate;
        if (rate <= 0)
        {
            return TimeSpan.Zero;
        }

        long timestamp;
        if (_stopwatchClock)
        {
            timestamp = now = now != 0 ? now : Stopwatch.GetTimestamp();
        }
        else
        {
            timestamp = timeProvider.GetTimestamp();
        }

        var frequency = timeProvider.TimestampFrequency;
        var wasThrottled = connection.MessageRate.IsThrottled;
        var decision = connection.MessageRate.TryTake(
            timestamp, frequency, rate, _options.MessageBurst, (long)(_options.MessageRateSustained.TotalSeconds * frequency), out var waitTicks);
        switch (decision)
        {
            case RateDecision.Allowed:
                return TimeSpan.Zero;
            case RateDecision.Wait:
                metrics.LimitHit("message_rate");
                if (!wasThrottled && _rateLimitedLog.ShouldLog(out var skipped))
                {
                    // One line per episode (and per second); the metric counts every message that had to wait.
                    Log.RateLimited(logger, connection.Id, connection.Remote, rate, _options.MessageBurst, skipped);
                }

                return TimeSpan.FromSeconds((double)waitTicks / frequency);
            default:
                metrics.LimitHit("message_rate_sustained");
                metrics.MessageDropped("rate_limited");
                if (_rateAbuseLog.ShouldLog(out var abuseSkipped))
                {
                    Log.RateAbuse(logger, connection.Id, connection.Remote, _options.MessageRateSustained.TotalSeconds, abuseSkipped);
                }

                connection.CloseForAbuse(RateAbuseReason, dropQueued: true);
                return null;
        }
    }

    /// <summary>Ends a wait <see cref="Throttle"/> asked for (see <see cref="MessageRateLimiter.Resumed"/>).</summary>
    public void Resumed(RelayConnection connection) => connection.MessageRate.Resumed(timeProvider.GetTimestamp());

    /// <summary>
    /// Counts and logs a registration refused because <paramref name="user"/> is at
    /// <see cref="RelayServerOptions.MaxClientsPerUser"/> (counted by the <see cref="Routing.IRelayRegistry"/>, over
    /// every node of a fleet), and returns the <c>success: false</c> response the caller sends before it closes with
    /// 1008 (<see cref="TooManyClientsReason"/>).
    /// </summary>
    public byte[] RefuseTooManyClients(RelayUser user, Guid uuid, long startTimestamp)
    {
        var limit = _options.MaxClientsPerUser;
        metrics.LimitHit("max_clients_per_user");
        metrics.Registration("too_many_clients", startTimestamp);
        if (_tooManyClientsLog.ShouldLog(out var skipped))
        {
            Log.TooManyClients(logger, user, uuid, limit, skipped);
        }

        return RelayCodec.EncodeToUtf8Bytes(new RelayResponse(
            Success: false,
            Message: $"TooManyClientsError: user already has {limit} registered clients (max_clients_per_user).",
            Error: true));
    }

    private static partial class Log
    {
        [LoggerMessage(410, LogLevel.Warning, "Connection {ConnectionId} from {Remote} is over message_rate ({Rate}/s, burst {Burst}); slowing it down (its messages are read at the rate) ({Skipped} more not logged)")]
        public static partial void RateLimited(ILogger logger, long connectionId, string remote, double rate, int burst, int skipped);

        [LoggerMessage(411, LogLevel.Warning, "Connection {ConnectionId} from {Remote} stayed over message_rate for message_rate_sustained ({Seconds} s); closing with 1008 ({Skipped} more not logged)")]
        public static partial void RateAbuse(ILogger logger, long connectionId, string remote, double seconds, int skipped);

        [LoggerMessage(412, LogLevel.Warning, "User {User} is at max_clients_per_user ({Limit}); refused the registration of {Uuid} and closing with 1008 ({Skipped} more not logged)")]
        public static partial void TooManyClients(ILogger logger, RelayUser user, Guid uuid, int limit, int skipped);

    }
}
