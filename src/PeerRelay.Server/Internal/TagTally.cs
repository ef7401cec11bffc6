using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace PeerRelay.Server.Internal;

/// <summary>
/// Counts by one tag's value for an observable counter (<see cref="RelayMetrics"/>): an interlocked add on the value's
/// cell when something happens, a measurement per value when a listener collects. The tag's values must come from a
/// small fixed set (a close code, a result word), as for any tag.
/// </summary>
/// <typeparam name="TValue">The tag value's type.</typeparam>
/// <param name="tag">The tag's name.</param>
internal sealed class TagTally<TValue>(string tag)
    where TValue : notnull
{
    private readonly ConcurrentDictionary<TValue, Cell> _cells = new();

    /// <summary>Adds <paramref name="count"/> to <paramref name="value"/>'s total.</summary>
    public void Add(TValue value, long count = 1)
    {
        if (!_cells.TryGetValue(value, out var cell))
        {
            cell = _cells.GetOrAdd(value, static (v, tag) => new Cell(new KeyValuePair<string, object?>(tag, v)), tag);
        }

        Interlocked.Add(ref cell.Count, count);
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
