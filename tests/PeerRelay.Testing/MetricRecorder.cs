using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace PeerRelay.Testing;

/// <summary>Records the measurements of one instrument, with their tags, from any meter of a given name.</summary>
public sealed class MetricRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<IReadOnlyDictionary<string, object?>> _measurements = new();

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
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var record = new Dictionary<string, object?>();
            foreach (var tag in tags)
            {
                record[tag.Key] = tag.Value;
            }

            for (var i = 0; i < value; i++)
            {
                _measurements.Enqueue(record);
            }
        });
        _listener.Start();
    }

    /// <summary>Gets the sum of every measurement recorded so far.</summary>
    public int Total => _measurements.Count;

    public int Count(string tag, object value) => _measurements.Count(m => m.TryGetValue(tag, out var v) && Equals(v, value));

    public void Dispose() => _listener.Dispose();
}
