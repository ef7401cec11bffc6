using System.Numerics;

namespace PeerRelay.LoadTest;

/// <summary>
/// A log-linear histogram of nanoseconds (32 sub-buckets per power of two, about 3 % precision), cheap to record
/// from one thread and to merge across threads and processes.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int Linear = 64;
    private const int Buckets = Linear + 32 * 40;

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

    private static int Index(long v)
    {
        if (v < Linear)
        {
            return (int)v;
        }

        var e = BitOperations.Log2((ulong)v) - 5;
        var index = Linear + (e - 1) * 32 + (int)(v >> e) - 32;
        return Math.Min(index, Buckets - 1);
    }

    private static long Middle(int index)
    {
        if (index < Linear)
        {
            return index;
        }

        var e = (index - Linear) / 32 + 1;
        var sub = (index - Linear) % 32 + 32;
        return ((long)sub << e) + (1L << (e - 1));
    }
}
