using System.Numerics;

namespace PeerRelay.LoadTest;

/// <summary>
/// A log-linear histogram of nanoseconds, cheap to record from one thread and to merge across threads and processes:
/// exact below 512 ns, then 256 buckets per power of two (a bucket is at most 0.4 % wide). Quantiles are the middle of
/// their bucket, so two servers whose one-hop latencies differ by a microsecond or two at 75 µs are told apart (with
/// 32 buckets per power of two, as before, such a difference moved a p99 by a whole 3 % bucket or not at all).
/// </summary>
internal sealed class LatencyHistogram
{
    private const int SubBits = 8;
    private const int Sub = 1 << SubBits; // Buckets per power of two.
    private const int Linear = 2 * Sub; // Values below this have a bucket each.
    private const int Buckets = Linear + Sub * 40; // Up to 2^48 ns.

    public long[] Counts { get; init; } = new long[Buckets];

    public long Max { get; set; }

    public long Total { get; set; }

    public void Record(long nanoseconds)
    {
        if (nanoseconds < 0)
        {
            nanoseconds = 0;
        }

        Counts[Index(nanoseconds)]++;
        Total++;
        if (nanoseconds > Max)
        {
            Max = nanoseconds;
        }
    }

    public void Merge(LatencyHistogram other)
    {
        for (var i = 0; i < Buckets; i++)
        {
            Counts[i] += other.Counts[i];
        }

        Total += other.Total;
        Max = Math.Max(Max, other.Max);
    }

    /// <summary>Returns the value at quantile <paramref name="q"/> (0..1) in nanoseconds: the middle of its bucket.</summary>
    public long Quantile(double q)
    {
        if (Total == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(q * Total);
        long seen = 0;
        for (var i = 0; i < Buckets; i++)
        {
            seen += Counts[i];
            if (seen >= rank && Counts[i] > 0)
            {
                return Math.Min(Middle(i), Max);
            }
        }

        return Max;
    }

    /// <summary>The bucket of <paramref name="v"/> nanoseconds.</summary>
    internal static int Index(long v)
    {
        if (v < Linear)
        {
            return (int)v;
        }

        var e = BitOperations.Log2((ulong)v) - SubBits;
        var index = Linear + (e - 1) * Sub + (int)(v >> e) - Sub;
        return Math.Min(index, Buckets - 1);
    }

    /// <summary>The middle of bucket <paramref name="index"/>, in nanoseconds.</summary>
    internal static long Middle(int index)
    {
        if (index < Linear)
        {
            return index;
        }

        var e = (index - Linear) / Sub + 1;
        var sub = (index - Linear) % Sub + Sub;
        return ((long)sub << e) + (1L << (e - 1));
    }
}
