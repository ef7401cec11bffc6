using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using PeerRelay.Server.Internal;

namespace PeerRelay.Server;

/// <summary>
/// The relay's metrics, on the meter <c>PeerRelay.Server</c>. Names are dotted lower-case with a UCUM unit; tags are
/// lower-case snake_case without a namespace, one name per meaning across every PeerRelay meter (<c>reason</c>,
/// <c>result</c>, <c>close_code</c>, <c>limit</c>, <c>cause</c>, <c>node</c>); see docs/operations.md, "Naming".
/// Every drop and rejection is counted with a <c>reason</c> tag.
/// </summary>
internal sealed class RelayMetrics
{
    /// <summary>The meter name; subscribe to it with OpenTelemetry or <c>dotnet-counters</c>.</summary>
    public const string MeterName = "PeerRelay.Server";

    private readonly TagTally<int> _closesByCode = new("close_code");
    private readonly TagTally<string> _registrationsByResult = new("result");
    private readonly Counter<long> _messagesDropped;
    private readonly Counter<long> _messagesRejected;
    private readonly Counter<long> _handshakesRejected;
    private readonly Counter<long> _limitsHit;
    private readonly Histogram<double> _forwardDuration;
    private readonly Histogram<double> _registrationDuration;
    private readonly Histogram<double> _authenticationDuration;
    private readonly Counter<long> _authenticationFailures;

    // The counts every message changes (messages received and forwarded, bytes read and sent) and every connection
    // changes (opened, closed, registered) are added up in cells striped by processor, one cache line per stripe, and
    // published as observable instruments: a listener reads their sums when it collects (a Prometheus scrape, an
    // OpenTelemetry export) instead of being called for each message, connection and instrument (issue 17). Counts
    // by a tag (closes by code, registrations by result) are kept per tag value in a TagTally; the closes' total is
    // theirs. The instruments' names, units and meaning are those of the counters they replace.
    private const int TallyReceived = 0;
    private const int TallyReceivedBytes = 1;
    private const int TallyForwarded = 2;
    private const int TallySentBytes = 3;
    private const int TallyOpened = 4;
    private const int TallyRegistered = 5;
    private const int TallyUnregistered = 6;
    private const int TallyStride = 8; // longs per 64-byte line
    private readonly long[] _tally;
    private readonly int _stripeMask;

    /// <summary>Histogram buckets in seconds for the relay's own work: 5 µs to 1 s (a forward takes tens of µs).</summary>
    internal static readonly double[] LatencyBuckets =
        [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

    /// <summary>Histogram buckets in seconds for authentication, which may call an identity service: 10 µs to 10 s.</summary>
    internal static readonly double[] AuthenticationBuckets =
        [0.00001, 0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    public RelayMetrics(IMeterFactory meterFactory, ClientRegistry registry)
    {
        var stripes = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Clamp(Environment.ProcessorCount, 1, 64));
        _stripeMask = stripes - 1;
        _tally = new long[(stripes + 1) * TallyStride]; // The first line is left empty: nothing else shares a stripe's line.
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableUpDownCounter("peerrelay.connections.active", ConnectionsActive, "{connection}", "Open WebSocket connections, registered or not.");
        meter.CreateObservableCounter("peerrelay.connections.opened", () => Tally(TallyOpened), "{connection}", "WebSocket connections accepted.");
        meter.CreateObservableCounter("peerrelay.connections.closed", _closesByCode.Measurements, "{connection}", "WebSocket connections ended, by close code (1006: without a close frame).");
        meter.CreateObservableUpDownCounter("peerrelay.clients.registered", ClientsRegistered, "{client}", "Registered clients (UUIDs).");
        meter.CreateObservableCounter("peerrelay.registrations", _registrationsByResult.Measurements, "{registration}", "Registration attempts, by result.");
        meter.CreateObservableCounter("peerrelay.messages.received", () => Tally(TallyReceived), "{message}", "Messages read from clients.");
        meter.CreateObservableCounter("peerrelay.messages.forwarded", () => Tally(TallyForwarded), "{message}", "Peer connection messages queued to their target.");
        _messagesDropped = meter.CreateCounter<long>("peerrelay.messages.dropped", "{message}", "Messages not delivered, by reason.");
        _messagesRejected = meter.CreateCounter<long>("peerrelay.messages.rejected", "{message}", "Client messages refused with a close code, by reason.");
        _handshakesRejected = meter.CreateCounter<long>("peerrelay.handshakes.rejected", "{request}", "WebSocket handshakes refused before the upgrade, by reason (e.g. origin).");
        _limitsHit = meter.CreateCounter<long>("peerrelay.limits.hit", "{event}", "Connections, registrations or messages refused by a limit, by limit (its config key).");
        meter.CreateObservableGauge("peerrelay.users.active", registry.CountUsers, "{user}", "Users with at least one registered client.");
        meter.CreateObservableCounter("peerrelay.received.bytes", () => Tally(TallyReceivedBytes), "By", "Bytes of client messages read (payloads, without WebSocket framing).");
        meter.CreateObservableCounter("peerrelay.sent.bytes", () => Tally(TallySentBytes), "By", "Bytes of messages sent to clients (payloads, without WebSocket framing).");
        _forwardDuration = meter.CreateHistogram("peerrelay.forward.duration", "s", "Time from reading a peer connection message to handing it to its target's socket.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _registrationDuration = meter.CreateHistogram("peerrelay.registration.duration", "s", "Time from reading a registration to sending its response (authentication included), by result.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = AuthenticationBuckets });
        _authenticationDuration = meter.CreateHistogram("peerrelay.authentication.duration", "s", "Time the authenticator took for one registration.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = AuthenticationBuckets });
        _authenticationFailures = meter.CreateCounter<long>("peerrelay.authentication.failures", "{registration}", "Registrations refused by the authenticator, by cause (unauthorized: 4001, forbidden: 4002, unavailable: 1013).");
    }

    /// <summary>Gets whether anyone listens to the forward latency (so that the clock is read only then).</summary>
    public bool ForwardDurationEnabled => _forwardDuration.Enabled;

    /// <summary>Counts a message of <paramref name="bytes"/> read from a client.</summary>
    public void MessageReceived(int bytes)
    {
        ref var stripe = ref Stripe();
        Interlocked.Increment(ref Unsafe.Add(ref stripe, TallyReceived));
        Interlocked.Add(ref Unsafe.Add(ref stripe, TallyReceivedBytes), bytes);
    }

    public void BytesSent(int count) => Interlocked.Add(ref Unsafe.Add(ref Stripe(), TallySentBytes), count);

    /// <summary>Records a forward that started at <paramref name="startTimestamp"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    public void Forwarded(long startTimestamp) => _forwardDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);

    public void Authenticated(long startTimestamp, string? failureCause)
    {
        _authenticationDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds);
        if (failureCause is not null && _authenticationFailures.Enabled)
        {
            _authenticationFailures.Add(1, new TagList { { "cause", failureCause } });
        }
    }

    public void ConnectionOpened() => Increment(TallyOpened);

    public void ConnectionClosed(int closeCode) => _closesByCode.Increment(closeCode);

    public void ClientRegistered() => Increment(TallyRegistered);

    public void ClientUnregistered() => Increment(TallyUnregistered);

    /// <summary>Counts a registration attempt; with <paramref name="startTimestamp"/> (when it was read) also its duration.</summary>
    public void Registration(string result, long startTimestamp = 0)
    {
        _registrationsByResult.Increment(result);
        if (startTimestamp != 0 && _registrationDuration.Enabled)
        {
            _registrationDuration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, new KeyValuePair<string, object?>("result", result));
        }
    }

    public void MessageForwarded() => Increment(TallyForwarded);

    public void MessageDropped(string reason, int count = 1)
    {
        if (_messagesDropped.Enabled)
        {
            _messagesDropped.Add(count, new TagList { { "reason", reason } });
        }
    }

    public void MessageRejected(string reason)
    {
        if (_messagesRejected.Enabled)
        {
            _messagesRejected.Add(1, new TagList { { "reason", reason } });
        }
    }

    public void HandshakeRejected(string reason)
    {
        if (_handshakesRejected.Enabled)
        {
            _handshakesRejected.Add(1, new TagList { { "reason", reason } });
        }
    }

    /// <summary>Counts one refusal by the limit whose config key is <paramref name="limit"/>.</summary>
    public void LimitHit(string limit)
    {
        if (_limitsHit.Enabled)
        {
            _limitsHit.Add(1, new TagList { { "limit", limit } });
        }
    }

    /// <summary>The first cell of the current processor's stripe.</summary>
    private ref long Stripe() =>
        ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_tally), ((Thread.GetCurrentProcessorId() & _stripeMask) + 1) * TallyStride);

    private void Increment(int cell) => Interlocked.Increment(ref Unsafe.Add(ref Stripe(), cell));

    // Open now: what was added and not yet removed. Removals are read first, so that the result is never below zero.
    private long ConnectionsActive()
    {
        var closed = _closesByCode.Total();
        return Tally(TallyOpened) - closed;
    }

    private long ClientsRegistered()
    {
        var unregistered = Tally(TallyUnregistered);
        return Tally(TallyRegistered) - unregistered;
    }

    private long Tally(int cell)
    {
        long sum = 0;
        for (var at = TallyStride + cell; at < _tally.Length; at += TallyStride)
        {
            sum += Volatile.Read(ref _tally[at]);
        }

        return sum;
    }
}
