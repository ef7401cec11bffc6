using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace PeerRelay.Testing;

/// <summary>Records the measurements of one instrument, with their tags, from any meter of a given name.</summary>
public sealed class MetricRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<IReadOnlyDictionary<string, object?>> _measurements = new();
    private readonly ConcurrentDictionary<string, (IReadOnlyDictionary<string, object?> Tags, long Value)> _observed = new();
    private readonly Lock _collect = new();

    /// <param name="scope">The <see cref="IMeterFactory"/> of the server under test, so parallel tests do not mix.</param>
    public MetricRecorder(object scope, string meterName, string instrumentName)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, scope) && instrument.Meter.Name == meterName && instrument.Name == instrumentName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var record = new Dictionary<string, object?>();
            foreach (var tag in tags)
            {
                record[tag.Key] = tag.Value;
            }

            if (instrument.IsObservable)
            {
                // An observable counter reports its total so far, when asked (see Collect).
                _observed[string.Join(",", record.Select(p => $"{p.Key}={p.Value}"))] = (record, value);
                return;
            }

            for (var i = 0; i < value; i++)
            {
                _measurements.Enqueue(record);
            }
        });
        _listener.Start();
    }

    /// <summary>Gets the sum of every measurement recorded so far (for an observable counter: its total now).</summary>
    public int Total
    {
        get
        {
            Collect();
            return _measurements.Count + (int)_observed.Values.Sum(o => o.Value);
        }
    }

    public int Count(string tag, object value)
    {
        Collect();
        return _measurements.Count(m => Matches(m, tag, value)) + (int)_observed.Values.Where(o => Matches(o.Tags, tag, value)).Sum(o => o.Value);
    }

    private static bool Matches(IReadOnlyDictionary<string, object?> tags, string tag, object value) => tags.TryGetValue(tag, out var v) && Equals(v, value);

    /// <summary>Reads observable instruments now (one caller at a time, so an older total never replaces a newer one).</summary>
    private void Collect()
    {
        lock (_collect)
        {
            _listener.RecordObservableInstruments();
        }
    }

    public void Dispose() => _listener.Dispose();
}
