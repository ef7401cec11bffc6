using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace PeerRelay.Server.Internal;

/// <summary>
/// Counts by one tag's value for an observable counter (<see cref="RelayMetrics"/>): an interlocked increment of the value's
/// cell when something happens, a measurement per value when a listener collects. The tag's values must come from a
/// small fixed set (a close code, a result word), as for any tag.
/// </summary>
/// <typeparam name="TValue">The tag value's type.</typeparam>
/// <param name="tag">The tag's name.</param>
internal sealed class TagTally<TValue>(string tag)
    where TValue : notnull
{
    private readonly ConcurrentDictionary<TValue, Cell> _cells = new();

    /// <summary>Counts one more for <paramref name="value"/>.</summary>
    public void Increment(TValue value)
    {
        if (!_cells.TryGetValue(value, out var cell))
        {
            cell = _cells.GetOrAdd(value, static (v, tag) => new Cell(new KeyValuePair<string, object?>(tag, v)), tag);
        }

        Interlocked.Increment(ref cell.Count);
    }

    /// <summary>The sum over every value.</summary>
    public long Total()
    {
        long sum = 0;
        foreach (var (_, cell) in _cells)
        {
            sum += Volatile.Read(ref cell.Count);
        }

        return sum;
    }

    /// <summary>The totals so far, one measurement per value seen.</summary>
    public IEnumerable<Measurement<long>> Measurements()
    {
        foreach (var (_, cell) in _cells)
        {
            yield return new Measurement<long>(Volatile.Read(ref cell.Count), cell.Tag);
        }
    }

#pragma warning disable SA1401 // A cell's count is added to in place.
    private sealed class Cell(KeyValuePair<string, object?> tag)
    {
        public readonly KeyValuePair<string, object?> Tag = tag; // The value boxed once.
        public long Count;
    }
#pragma warning restore SA1401
}
