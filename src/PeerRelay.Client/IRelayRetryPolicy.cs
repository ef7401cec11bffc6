namespace PeerRelay.Client;

/// <summary>
/// Decides whether and when a <see cref="RelayClient"/> tries again after a failure it may retry (connection refused,
/// time-out, DNS failure, a lost connection, any close code but 4001, 4002 and 4004). Failures that retrying cannot
/// fix never reach the policy: they end the client with a <see cref="RelayRejectedException"/>.
/// </summary>
/// <remarks>
/// Modelled on ASP.NET Core SignalR's <c>IRetryPolicy</c>. Called on the client's connection loop, once per failure;
/// implementations must be quick and must not block. The default is <see cref="ExponentialBackoffRetryPolicy"/>.
/// </remarks>
public interface IRelayRetryPolicy
{
    /// <summary>Returns how long to wait before the next attempt, or <see langword="null"/> to stop trying.</summary>
    /// <param name="context">The retry count, the time since the outage began, and the failure.</param>
    /// <returns>
    /// The delay before the next attempt (zero for at once; rounded up to whole milliseconds), or
    /// <see langword="null"/> to give up.
    /// </returns>
    TimeSpan? NextRetryDelay(RelayRetryContext context);
}
