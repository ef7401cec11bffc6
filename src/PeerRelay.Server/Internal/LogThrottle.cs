namespace PeerRelay.Server.Internal;

/// <summary>
/// Lets one log line (or a few) through per interval and counts the rest, so an attack that trips a limit thousands of times a
/// second cannot flood the log (or make the relay spend its time writing it). One throttle per cause: every event a
/// client can trigger at will is logged through one, with the count of the lines skipped since the last, while its
/// metric counts every event. Thread-safe.
/// </summary>
internal sealed class LogThrottle(TimeSpan interval, int linesPerInterval = 1, Func<long>? clockMs = null)
{
    /// <summary>Initializes a throttle of one line per second.</summary>
    public LogThrottle()
        : this(TimeSpan.FromSeconds(1))
    {
    }

    private readonly long _intervalMs = (long)interval.TotalMilliseconds;
    private readonly Func<long> _clockMs = clockMs ?? (static () => Environment.TickCount64);
    private readonly Lock _lock = new();
    private long _windowEnd = long.MinValue;
    private int _logged;
    private int _suppressed;

    /// <summary>
    /// Returns true when this event should be logged (one of the first <c>linesPerInterval</c> of its interval), with
    /// how many were skipped since the last logged one.
    /// </summary>
    public bool ShouldLog(out int suppressed)
    {
        var now = _clockMs();

        // Under a flood almost every event is over the budget: count it without the lock.
        if (now < Volatile.Read(ref _windowEnd) && Volatile.Read(ref _logged) >= linesPerInterval)
        {
            Interlocked.Increment(ref _suppressed);
            suppressed = 0;
            return false;
        }

        lock (_lock)
        {
            if (now >= _windowEnd)
            {
                Volatile.Write(ref _logged, 0);
                Volatile.Write(ref _windowEnd, now + _intervalMs);
            }

            if (_logged < linesPerInterval)
            {
                Volatile.Write(ref _logged, _logged + 1);
                suppressed = Interlocked.Exchange(ref _suppressed, 0);
                return true;
            }

            Interlocked.Increment(ref _suppressed);
            suppressed = 0;
            return false;
        }
    }
}
