namespace PeerRelay.Server.Internal;

/// <summary>What <see cref="MessageRateLimiter.TryTake"/> decided about one message.</summary>
internal enum RateDecision
{
    /// <summary>Within the rate: act on the message.</summary>
    Allowed,

    /// <summary>Over the rate: refuse the message with an error response, keep the connection.</summary>
    Refused,

    /// <summary>Over the rate for too long: close the connection (1008).</summary>
    Abusive,
}
