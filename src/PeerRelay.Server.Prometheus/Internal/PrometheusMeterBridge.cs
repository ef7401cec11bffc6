using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Prometheus;

namespace PeerRelay.Server.Prometheus.Internal;

/// <summary>
/// Publishes the relay's <see cref="System.Diagnostics.Metrics"/> instruments (every meter whose name starts with
/// <c>PeerRelay</c>, created by this host's <see cref="IMeterFactory"/>) as prometheus-net collectors in their own
/// registry, named by <see cref="PrometheusNames"/>: counters as counters (<c>_total</c>), up-down counters and gauges
/// as gauges, histograms as histograms with the instrument's advised buckets (or <see cref="DefaultSecondsBuckets"/>).
/// </summary>
/// <remarks>
/// A measurement costs one listener callback and an interlocked add on the series, found without allocating for up to
/// <see cref="SeriesKey.MaxTags"/> tags. Observable instruments are read when Prometheus scrapes.
/// </remarks>
internal sealed class PrometheusMeterBridge : IDisposable
{
    /// <summary>Histogram buckets in seconds, 10 µs to 10 s: a forward takes tens of µs, an introspection up to seconds.</summary>
    public static readonly double[] DefaultSecondsBuckets =
        [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly MeterListener _listener = new();
    private readonly MetricFactory _factory;
    private readonly object _scope;
    private readonly Lock _recordObservables = new();

    public PrometheusMeterBridge(IMeterFactory meterFactory, CollectorRegistry registry)
    {
        Registry = registry;
        _scope = meterFactory;
        _factory = Metrics.WithCustomRegistry(registry);

        // No exemplars: the text format served (0.0.4) has none, and looking for a trace context on every
        // observation is most of what recording one costs (the forward-duration histogram, per message).
        _factory.ExemplarBehavior = ExemplarBehavior.NoExemplars();
        _listener.InstrumentPublished = OnInstrumentPublished;
        _listener.SetMeasurementEventCallback<long>(static (i, v, t, s) => ((InstrumentExport)s!).Record(v, t));
        _listener.SetMeasurementEventCallback<int>(static (i, v, t, s) => ((InstrumentExport)s!).Record(v, t));
        _listener.SetMeasurementEventCallback<double>(static (i, v, t, s) => ((InstrumentExport)s!).Record(v, t));
        _listener.Start();
        registry.AddBeforeCollectCallback(() =>
        {
            // Scrapes may overlap; observable callbacks read live state and must not run twice at once.
            lock (_recordObservables)
            {
                _listener.RecordObservableInstruments();
            }
        });
    }

    /// <summary>Gets the registry the instruments are published in.</summary>
    public CollectorRegistry Registry { get; }

    public void Dispose() => _listener.Dispose();

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        if (!ReferenceEquals(instrument.Meter.Scope, _scope) || !instrument.Meter.Name.StartsWith("PeerRelay", StringComparison.Ordinal))
        {
            return;
        }

        var kind = KindOf(instrument);
        if (kind is null)
        {
            return;
        }

        listener.EnableMeasurementEvents(instrument, new InstrumentExport(instrument, kind.Value, _factory));
    }

    private static ExportKind? KindOf(Instrument instrument)
    {
        var type = instrument.GetType();
        if (!type.IsGenericType)
        {
            return null;
        }

        var definition = type.GetGenericTypeDefinition();
        if (definition == typeof(Counter<>))
        {
            return ExportKind.Counter;
        }

        if (definition == typeof(ObservableCounter<>))
        {
            return ExportKind.ObservedCounter;
        }

        if (definition == typeof(UpDownCounter<>))
        {
            return ExportKind.Gauge;
        }

        if (definition == typeof(ObservableUpDownCounter<>) || definition == typeof(ObservableGauge<>) || definition == typeof(Gauge<>))
        {
            return ExportKind.ObservedGauge;
        }

        return definition == typeof(Histogram<>) ? ExportKind.Histogram : null;
    }

    private enum ExportKind
    {
        Counter,
        ObservedCounter,
        Gauge,
        ObservedGauge,
        Histogram,
    }

    /// <summary>One instrument's collector and its series by tag values.</summary>
    private sealed class InstrumentExport
    {
        private readonly Instrument _instrument;
        private readonly ExportKind _kind;
        private readonly IMetricFactory _factory;
        private readonly ConcurrentDictionary<SeriesKey, object> _series = new();
        private readonly Lock _createLock = new();
        private string[]? _tagNames;
        private Collector? _collector;
        private object? _unlabelled;

        public InstrumentExport(Instrument instrument, ExportKind kind, IMetricFactory factory)
        {
            _instrument = instrument;
            _kind = kind;
            _factory = factory;
            if (kind == ExportKind.Gauge)
            {
                // Up-down counters ("now" values) are shown from the start, at 0, not from their first change.
                Create([]);
            }
        }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var series = tags.Length == 0 ? _unlabelled ?? SeriesFor(tags) : SeriesFor(tags);
            if (series is null)
            {
                return;
            }

            switch (_kind)
            {
                case ExportKind.Counter:
                    ((ICounter)series).Inc(value);
                    break;
                case ExportKind.ObservedCounter:
                    ((ICounter)series).IncTo(value);
                    break;
                case ExportKind.Gauge:
                    ((IGauge)series).Inc(value);
                    break;
                case ExportKind.ObservedGauge:
                    ((IGauge)series).Set(value);
                    break;
                case ExportKind.Histogram:
                    ((IHistogram)series).Observe(value);
                    break;
            }
        }

        private object? SeriesFor(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.Length > SeriesKey.MaxTags)
            {
                return null;
            }

            var names = _tagNames ?? Create(tags);
            if (names.Length != tags.Length)
            {
                return null; // Another set of tags than the instrument's first measurement: not representable.
            }

            var key = SeriesKey.From(names, tags, out var ordered);
            if (!ordered)
            {
                return null;
            }

            if (_series.TryGetValue(key, out var series))
            {
                return series;
            }

            var values = new string[names.Length];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = Convert.ToString(tags[i].Value, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty;
            }

            series = _collector switch
            {
                Counter c => c.WithLabels(values),
                Gauge g => g.WithLabels(values),
                Histogram h => (object)h.WithLabels(values),
                _ => throw new InvalidOperationException("No collector."),
            };
            return _series.GetOrAdd(key, series);
        }

        private string[] Create(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            lock (_createLock)
            {
                if (_tagNames is { } existing)
                {
                    return existing;
                }

                var tagNames = new string[tags.Length];
                var labels = new string[tags.Length];
                for (var i = 0; i < tags.Length; i++)
                {
                    tagNames[i] = tags[i].Key;
                    labels[i] = PrometheusNames.OfTag(tags[i].Key);
                }

                var name = PrometheusNames.Of(_instrument);
                var help = string.IsNullOrEmpty(_instrument.Description) ? _instrument.Name : _instrument.Description;
                _collector = _kind switch
                {
                    ExportKind.Counter or ExportKind.ObservedCounter => _factory.CreateCounter(name, help, labels),
                    ExportKind.Gauge or ExportKind.ObservedGauge => _factory.CreateGauge(name, help, labels),
                    _ => _factory.CreateHistogram(name, help, labels, new HistogramConfiguration { Buckets = BucketsOf(_instrument) }),
                };
                if (tags.Length == 0)
                {
                    _unlabelled = _collector;
                }

                _tagNames = tagNames;
                return tagNames;
            }
        }

        private static double[] BucketsOf(Instrument instrument) =>
            (instrument as Histogram<double>)?.Advice?.HistogramBucketBoundaries is { Count: > 0 } advised
                ? [.. advised]
                : DefaultSecondsBuckets;
    }

    /// <summary>The tag values of one series (up to three), compared by value (boxed numbers and strings alike).</summary>
    private readonly record struct SeriesKey(object? A, object? B, object? C)
    {
        public const int MaxTags = 3;

        /// <summary>Builds the key; <paramref name="ordered"/> is false when the tags do not come in the instrument's order.</summary>
        public static SeriesKey From(string[] names, ReadOnlySpan<KeyValuePair<string, object?>> tags, out bool ordered)
        {
            ordered = true;
            for (var i = 0; i < tags.Length; i++)
            {
                if (!string.Equals(names[i], tags[i].Key, StringComparison.Ordinal))
                {
                    ordered = false;
                    return default;
                }
            }

            return new SeriesKey(
                tags.Length > 0 ? tags[0].Value : null,
                tags.Length > 1 ? tags[1].Value : null,
                tags.Length > 2 ? tags[2].Value : null);
        }
    }
}
