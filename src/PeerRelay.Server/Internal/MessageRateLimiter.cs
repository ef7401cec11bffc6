namespace PeerRelay.Server.Internal;

/// <summary>
/// A token bucket per connection: <c>burst</c> tokens, refilled at <c>rate</c> per second, one per message. A message
/// without a token is refused; refusals count up until the client pauses long enough for the bucket to fill again,
/// and a client refused <c>maxRefusals</c> times without such a pause is abusive. Only the connection's receive loop
/// touches it, so it needs no locking; a mutable struct held in a field, so it costs no allocation.
/// </summary>
internal struct MessageRateLimiter
{
    private double _tokens;
    private long _last;
    private int _refusals;
    private bool _started;

    /// <summary>Gets the refusals since the bucket was last full.</summary>
    public readonly int Refusals => _refusals;

    /// <summary>Takes a token for one message read at <paramref name="now"/> (a <see cref="TimeProvider"/> timestamp).</summary>
    public RateDecision TryTake(long now, long timestampFrequency, double rate, int burst, int maxRefusals)
    {
        if (!_started)
        {
            _started = true;
            _tokens = burst;
            _last = now;
        }
        else if (now > _last)
        {
            _tokens = Math.Min(burst, _tokens + ((now - _last) * rate / timestampFrequency));
            _last = now;
        }

        if (_tokens >= burst)
        {
            // The client paused long enough to refill: forgive earlier refusals.
            _refusals = 0;
        }

        if (_tokens >= 1)
        {
            _tokens -= 1;
            return RateDecision.Allowed;
        }

        _refusals++;
        return _refusals >= maxRefusals ? RateDecision.Abusive : RateDecision.Refused;
    }
}
