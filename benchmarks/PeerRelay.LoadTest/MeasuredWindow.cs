using System.Diagnostics;

namespace PeerRelay.LoadTest;

/// <summary>The timing shared by the closed-loop scenarios: warm up, then measure for a fixed time.</summary>
internal sealed class MeasuredWindow
{
    private volatile bool _measuring;

    /// <summary>Gets a value indicating whether work done now counts.</summary>
    public bool Measuring => _measuring;

    /// <summary>Waits out the warm-up, then measures for <see cref="LoadOptions.Seconds"/>; returns the window's length in seconds.</summary>
    public async Task<double> RunAsync(LoadOptions options, Action windowStart, Action windowEnd, CancellationToken cancellationToken)
    {
        await Task.Delay(TimeSpan.FromSeconds(options.Warmup), cancellationToken);
        windowStart();
        var started = Stopwatch.GetTimestamp();
        _measuring = true;
        await Task.Delay(TimeSpan.FromSeconds(options.Seconds), cancellationToken);
        _measuring = false;
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        windowEnd();
        return seconds;
    }
}
