using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PeerRelay.Protocol;
using PeerRelay.Server.Authentication;

namespace PeerRelay.Server.Internal;

/// <summary>
/// The per-message and per-user limits the relay logic consults: the message rate of each connection
/// (<see cref="RelayServerOptions.MessageRate"/>) and the registered clients of each user
/// (<see cref="RelayServerOptions.MaxClientsPerUser"/>). Each refusal is answered, counted and logged.
/// </summary>
internal sealed partial class RelayLimits(
    ClientRegistry registry,
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
    private readonly Dictionary<RelayUser, int> _clientsPerUser = [];
    private readonly Lock _lock = new();
    private byte[]? _rateErrorJson;

    /// <summary>Gets how many clients <paramref name="user"/> has registered, as counted for the limit.</summary>
    public int ClientsOf(RelayUser user)
    {
        lock (_lock)
        {
            return _clientsPerUser.GetValueOrDefault(user);
        }
    }

    /// <summary>
    /// Charges one message to the connection's token bucket. Returns false when the message must be ignored: it was
    /// over the rate (<paramref name="refusal"/> is the error response the caller sends) or the connection is now
    /// closed for flooding (1008).
    /// </summary>
    public bool AllowMessage(RelayConnection connection, out byte[]? refusal)
    {
        refusal = null;
        var rate = _options.MessageRate;
        if (rate <= 0)
        {
            return true;
        }

        var decision = connection.MessageRate.TryTake(
            timeProvider.GetTimestamp(), timeProvider.TimestampFrequency, rate, _options.MessageBurst, _options.MessageRateMaxRefusals);
        switch (decision)
        {
            case RateDecision.Allowed:
                return true;
            case RateDecision.Refused:
                metrics.LimitHit("message_rate");
                metrics.MessageDropped("rate_limited");
                if (connection.MessageRate.Refusals == 1)
                {
                    // One line per episode; the metric counts every refused message.
                    Log.RateLimited(logger, connection.Id, connection.Remote, rate, _options.MessageBurst);
                }

                refusal = _rateErrorJson ??= BuildRateError();
                return false;
            default:
                metrics.LimitHit("message_rate_max_refusals");
                metrics.MessageDropped("rate_limited");
                Log.RateAbuse(logger, connection.Id, connection.Remote, connection.MessageRate.Refusals);
                connection.Close(RelayCloseCodes.PolicyViolation, RateAbuseReason, dropQueued: true);
                return false;
        }
    }

    /// <summary>
    /// Called before <paramref name="connection"/> registers <paramref name="uuid"/> for <paramref name="user"/>.
    /// Returns false when the user is at <see cref="RelayServerOptions.MaxClientsPerUser"/>: the caller sends
    /// <paramref name="refusal"/> (<c>success: false</c>) and closes with 1008 (<see cref="TooManyClientsReason"/>).
    /// <paramref name="reserved"/> says whether a slot was taken, to give back with <see cref="ReleaseClient"/> if the
    /// registration does not happen.
    /// </summary>
    public bool TryReserveClient(RelayConnection connection, RelayUser user, Guid uuid, out bool reserved, out byte[]? refusal)
    {
        reserved = false;
        refusal = null;
        if (user == RelayUser.Anonymous || connection.Registration is not null)
        {
            // Anonymous: max_connections bounds them. Already registered: this socket holds its slot already.
            return true;
        }

        if (registry.Find(uuid)?.Registration?.User == user)
        {
            // A take-over moves the slot from the old socket to the new one: a reconnecting client is never refused.
            return true;
        }

        var limit = _options.MaxClientsPerUser;
        lock (_lock)
        {
            var count = _clientsPerUser.GetValueOrDefault(user);
            if (count < limit)
            {
                _clientsPerUser[user] = count + 1;
                reserved = true;
                return true;
            }
        }

        metrics.LimitHit("max_clients_per_user");
        metrics.Registration("too_many_clients");
        Log.TooManyClients(logger, user, uuid, limit);
        refusal = RelayCodec.EncodeToUtf8Bytes(new RelayResponse(
            Success: false,
            Message: $"TooManyClientsError: user already has {limit} registered clients (max_clients_per_user).",
            Error: true));
        return false;
    }

    /// <summary>Counts a registration that took no slot in <see cref="TryReserveClient"/> (a take-over that raced).</summary>
    public void CountClient(RelayUser user)
    {
        if (user == RelayUser.Anonymous)
        {
            return;
        }

        lock (_lock)
        {
            _clientsPerUser[user] = _clientsPerUser.GetValueOrDefault(user) + 1;
        }
    }

    /// <summary>Gives back a client slot of <paramref name="user"/>: its registration was released.</summary>
    public void ReleaseClient(RelayUser user)
    {
        if (user == RelayUser.Anonymous)
        {
            return;
        }

        lock (_lock)
        {
            var count = _clientsPerUser.GetValueOrDefault(user);
            if (count <= 1)
            {
                _clientsPerUser.Remove(user);
            }
            else
            {
                _clientsPerUser[user] = count - 1;
            }
        }
    }

    private byte[] BuildRateError() => RelayCodec.EncodeToUtf8Bytes(new RelayResponse(
        Success: false,
        Message: $"RateLimitError: over {_options.MessageRate:0.##} messages per second (burst {_options.MessageBurst}); message ignored.",
        Error: true));

    private static partial class Log
    {
        [LoggerMessage(410, LogLevel.Warning, "Connection {ConnectionId} from {Remote} is over message_rate ({Rate}/s, burst {Burst}); refusing its messages with an error response")]
        public static partial void RateLimited(ILogger logger, long connectionId, string remote, double rate, int burst);

        [LoggerMessage(411, LogLevel.Warning, "Connection {ConnectionId} from {Remote} kept flooding ({Refusals} messages refused without a pause); closing with 1008")]
        public static partial void RateAbuse(ILogger logger, long connectionId, string remote, int refusals);

        [LoggerMessage(412, LogLevel.Warning, "User {User} is at max_clients_per_user ({Limit}); refused the registration of {Uuid} and closing with 1008")]
        public static partial void TooManyClients(ILogger logger, RelayUser user, Guid uuid, int limit);

    }
}
