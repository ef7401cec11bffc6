namespace PeerRelay.Server.Internal;

/// <summary>
/// Lets one log line through per interval and counts the rest, so an attack that trips a limit thousands of times a
/// second cannot flood the log (or make the relay spend its time writing it). One throttle per cause: every event a
/// client can trigger at will is logged through one, with the count of the lines skipped since the last, while its
/// metric counts every event. Thread-safe.
/// </summary>
internal sealed class LogThrottle(TimeSpan interval)
{
    /// <summary>Initializes a throttle of one line per second.</summary>
    public LogThrottle()
        : this(TimeSpan.FromSeconds(1))
    {
    }

    private readonly long _intervalMs = (long)interval.TotalMilliseconds;
    private long _nextAllowed = long.MinValue;
    private int _suppressed;

    /// <summary>Returns true when this event should be logged, with how many were skipped since the last logged one.</summary>
    public bool ShouldLog(out int suppressed)
    {
        var now = Environment.TickCount64;
        var next = Volatile.Read(ref _nextAllowed);
        if (now >= next && Interlocked.CompareExchange(ref _nextAllowed, now + _intervalMs, next) == next)
        {
            suppressed = Interlocked.Exchange(ref _suppressed, 0);
            return true;
        }

        Interlocked.Increment(ref _suppressed);
        suppressed = 0;
        return false;
    }
}
