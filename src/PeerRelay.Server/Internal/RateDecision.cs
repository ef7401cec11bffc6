namespace PeerRelay.Server.Internal;

/// <summary>What <see cref="MessageRateLimiter.TryTake"/> decided about one message.</summary>
internal enum RateDecision
{
    /// <summary>Within the rate: act on the message.</summary>
    Allowed,

    /// <summary>Over the rate: stop reading the connection for the time given, then act on the message.</summary>
    Wait,

    /// <summary>Over the rate without a break for the sustained period: close the connection (1008).</summary>
    Abusive,
}
