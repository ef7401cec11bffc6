namespace PeerRelay.Benchmarks.Tests;

/// <summary>
/// Ten repetitions' one-hop p99 (µs) against a floor at 100 µs in each, for the tests of the p99 verdict
/// (<c>benchmarks/p99_verdict.py</c>) in both reports that use it.
/// </summary>
internal static class P99Samples
{
    /// <summary>Within ±4 % of the floor's: no worse than the floor (median paired ratio 1.005×).</summary>
    public static readonly int[] Within = [102, 98, 101, 99, 103, 100, 97, 104, 100, 101];

    /// <summary>7–13 % above the floor's in every repetition: worse than the floor (median paired ratio 1.105×).</summary>
    public static readonly int[] Above = [110, 112, 108, 111, 109, 113, 110, 107, 112, 111];
}
