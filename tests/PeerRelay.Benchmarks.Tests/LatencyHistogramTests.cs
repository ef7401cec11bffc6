using PeerRelay.LoadTest;

namespace PeerRelay.Benchmarks.Tests;

/// <summary>
/// The load generator's latency histogram: exact below 512 ns, then buckets at most 0.4 % wide, so that a p99 moves with
/// a difference of a microsecond at 75 µs instead of jumping by whole 3 % buckets.
/// </summary>
public sealed class LatencyHistogramTests
{
    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(511L)]
    public void BelowHalfAMicrosecond_EveryNanosecondHasItsOwnBucket(long nanoseconds)
    {
        Assert.Equal(nanoseconds, LatencyHistogram.Middle(LatencyHistogram.Index(nanoseconds)));
    }

    [Fact]
    public void EveryValue_IsWithinAFifthOfAPercentOfItsBucketsMiddle_AndBucketsFollowTheValuesOrder()
    {
        var previous = -1;
        for (var v = 512L; v < 20_000_000L; v += 1 + (v / 997))
        {
            var index = LatencyHistogram.Index(v);
            var middle = LatencyHistogram.Middle(index);
            Assert.True(Math.Abs(middle - v) <= (v * 0.002) + 1, $"{v} ns is in a bucket whose middle is {middle} ns");
            Assert.True(index >= previous, $"{v} ns went to bucket {index}, below {previous}");
            previous = index;
        }
    }

    [Fact]
    public void TheP99_TellsApartTwoLatenciesAMicrosecondApartAt75Microseconds()
    {
        var low = new LatencyHistogram();
        var high = new LatencyHistogram();
        for (var i = 0; i < 1000; i++)
        {
            low.Record(74_000);
            high.Record(75_000);
        }

        // Buckets are 256 ns wide from 65.5 to 131 µs: each p99 is within half of that of the value.
        Assert.InRange(low.Quantile(0.99), 73_872, 74_128);
        Assert.InRange(high.Quantile(0.99), 74_872, 75_128);
        Assert.True(high.Quantile(0.99) > low.Quantile(0.99));
    }

    [Fact]
    public void Quantiles_AreTakenFromTheMergedCounts_AndNeverExceedTheLargestValueSeen()
    {
        var first = new LatencyHistogram();
        var second = new LatencyHistogram();
        for (var i = 1; i <= 98; i++)
        {
            first.Record(10_000);
        }

        second.Record(50_000);
        second.Record(1_000_003);

        first.Merge(second);

        Assert.Equal(100, first.Total);
        Assert.Equal(1_000_003, first.Max);
        Assert.InRange(first.Quantile(0.5), 9_980, 10_020);
        Assert.InRange(first.Quantile(0.99), 49_900, 50_100);
        Assert.Equal(1_000_003, first.Quantile(1.0)); // The top bucket's middle is above the largest value: the largest it is.
    }
}
