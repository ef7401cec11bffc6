namespace PeerRelay.Server.Internal;

/// <summary>
/// A token bucket per connection: <c>burst</c> tokens, refilled at <c>rate</c> per second, one per message. A message
/// without a token is not refused: it is taken on credit and the caller waits (stops reading the connection) until
/// the credit is paid back, so TCP flow control slows the sender to the rate and nothing is lost. A connection that
/// has to wait for every message for <c>sustained</c> on end is abusive. Only the connection's receive loop touches
/// it, so it needs no locking; a mutable struct held in a field, so it costs no allocation.
/// </summary>
internal struct MessageRateLimiter
{
    private double _tokens;
    private long _last;
    private long _throttledSince;
    private long _waitEnd;
    private bool _throttled;
    private bool _started;

    /// <summary>Gets a value indicating whether the connection is being slowed down (its last message had to wait).</summary>
    public readonly bool IsThrottled => _throttled;

    /// <summary>
    /// Takes a token for one message read at <paramref name="now"/> (a <see cref="TimeProvider"/> timestamp).
    /// </summary>
    /// <param name="now">The current timestamp.</param>
    /// <param name="timestampFrequency">Timestamp ticks per second.</param>
    /// <param name="rate">Tokens added per second.</param>
    /// <param name="burst">The bucket's size.</param>
    /// <param name="sustainedTicks">How long, in timestamp ticks, a connection may be slowed without a break.</param>
    /// <param name="waitTicks">With <see cref="RateDecision.Wait"/>: how long to wait before acting on the message.</param>
    /// <returns>What to do with the message.</returns>
    public RateDecision TryTake(long now, long timestampFrequency, double rate, int burst, long sustainedTicks, out long waitTicks)
    {
        waitTicks = 0;
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

        if (_tokens >= 1)
        {
            // A token was there without waiting: the sender is within the rate, whatever came before.
            _tokens -= 1;
            _throttled = false;
            return RateDecision.Allowed;
        }

        if (!_throttled)
        {
            _throttled = true;
            _throttledSince = now;
        }
        else if (now - _throttledSince >= sustainedTicks)
        {
            return RateDecision.Abusive;
        }

        // On credit: the wait pays the token back (the bucket refills while the connection is not read).
        waitTicks = (long)Math.Ceiling((1 - _tokens) * timestampFrequency / rate);
        _tokens -= 1;
        _waitEnd = now + waitTicks;
        return RateDecision.Wait;
    }

    /// <summary>
    /// Tells the bucket the wait of the last <see cref="RateDecision.Wait"/> ended at <paramref name="now"/>. On a
    /// loaded machine a timer fires late: the time the relay overslept is not refilled, for the connection was not read
    /// then because of the relay, not because its sender paused; counted, it would hand a flooder a token now and then
    /// and so restart its sustained period for ever.
    /// </summary>
    /// <param name="now">The current timestamp.</param>
    public void Resumed(long now)
    {
        if (now > _waitEnd)
        {
            _last += now - _waitEnd;
        }
    }
}
