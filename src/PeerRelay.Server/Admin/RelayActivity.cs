using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;

namespace PeerRelay.Server.Admin;

/// <summary>
/// What the dashboard charts: every <see cref="SampleInterval"/> the messages and refusals of the last interval (from the
/// relay's own instruments, through a listener that exists only while the admin side is on), kept for
/// <see cref="History"/>, and the closes by code since start.
/// </summary>
internal sealed class RelayActivity : BackgroundService
{
    /// <summary>Time between two samples.</summary>
    public static readonly TimeSpan SampleInterval = TimeSpan.FromSeconds(2);

    /// <summary>Samples kept: 5 minutes.</summary>
    public const int History = 150;

    private readonly MeterListener _listener = new();
    private readonly TimeProvider _timeProvider;
    private readonly Lock _lock = new();
    private readonly Queue<ActivitySample> _samples = new(History);
    private readonly Dictionary<int, long> _closes = [];
    private long _received;
    private long _forwarded;
    private long _refused;
    private long _lastReceived;
    private long _lastForwarded;
    private long _lastRefused;

    public RelayActivity(IMeterFactory meterFactory, TimeProvider timeProvider)
    {
        _timeProvider = timeProvider;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, meterFactory) && instrument.Meter.Name == RelayMetrics.MeterName
                && instrument.Name is "peerrelay.messages.received" or "peerrelay.messages.forwarded" or "peerrelay.limits.hit" or "peerrelay.connections.closed")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.Start();
    }

    /// <summary>Returns the samples, oldest first, and the closes by code.</summary>
    public (ActivitySample[] Samples, Dictionary<int, long> Closes, long Received, long Forwarded, long Refused) Snapshot()
    {
        lock (_lock)
        {
            _listener.RecordObservableInstruments();
            return ([.. _samples], new Dictionary<int, long>(_closes), Interlocked.Read(ref _received), Interlocked.Read(ref _forwarded), Interlocked.Read(ref _refused));
        }
    }

    public override void Dispose()
    {
        _listener.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Sample();
        using var timer = new PeriodicTimer(SampleInterval, _timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                Sample();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Sample()
    {
        lock (_lock)
        {
            // The message counts are observable instruments: read them now (under the lock, so that a concurrent
            // snapshot cannot set an older total after a newer one).
            _listener.RecordObservableInstruments();
        }

        var received = Interlocked.Read(ref _received);
        var forwarded = Interlocked.Read(ref _forwarded);
        var refused = Interlocked.Read(ref _refused);
        var seconds = SampleInterval.TotalSeconds;
        var sample = new ActivitySample(
            _timeProvider.GetUtcNow(),
            (received - _lastReceived) / seconds,
            (forwarded - _lastForwarded) / seconds,
            (refused - _lastRefused) / seconds);
        (_lastReceived, _lastForwarded, _lastRefused) = (received, forwarded, refused);
        lock (_lock)
        {
            if (_samples.Count == History)
            {
                _samples.Dequeue();
            }

            _samples.Enqueue(sample);
        }
    }

    private void OnMeasurement(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        switch (instrument.Name)
        {
            case "peerrelay.messages.received":
                Interlocked.Exchange(ref _received, value); // Observable: the total so far (read under _lock).
                break;
            case "peerrelay.messages.forwarded":
                Interlocked.Exchange(ref _forwarded, value);
                break;
            case "peerrelay.limits.hit":
                Interlocked.Add(ref _refused, value);
                break;
            default:
                foreach (var tag in tags)
                {
                    if (tag is { Key: "close_code", Value: int code })
                    {
                        lock (_lock)
                        {
                            _closes[code] = value; // Observable: the total for this code so far.
                        }
                    }
                }

                break;
        }
    }
}

/// <summary>One point of the dashboard's charts.</summary>
/// <param name="Time">When it was taken.</param>
/// <param name="MessagesPerSecond">Messages read per second over the interval before it.</param>
/// <param name="ForwardsPerSecond">Messages forwarded per second.</param>
/// <param name="RefusalsPerSecond">Refusals by a limit per second.</param>
internal sealed record ActivitySample(DateTimeOffset Time, double MessagesPerSecond, double ForwardsPerSecond, double RefusalsPerSecond);
