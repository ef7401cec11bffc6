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
        lock (_lock)
        {
            if (now >= _windowEnd)
            {
                _windowEnd = now + _intervalMs;
                _logged = 0;
            }

            if (_logged < linesPerInterval)
            {
                _logged++;
                suppressed = _suppressed;
                _suppressed = 0;
                return true;
            }

            _suppressed++;
            suppressed = 0;
            return false;
        }
    }
}
