using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace PeerRelay.Server.Redis.Internal;

/// <summary>The scale-out's metrics, on the meter <c>PeerRelay.Cluster</c> (dotted lower-case names, as <c>PeerRelay.Server</c>).</summary>
internal sealed class ClusterMetrics
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "PeerRelay.Cluster";

    private readonly Counter<long> _publishes;
    private readonly Counter<long> _received;
    private readonly Counter<long> _takeovers;
    private readonly Counter<long> _leaseLost;
    private readonly Counter<long> _swept;
    private readonly Counter<long> _redisErrors;
    private readonly Histogram<double> _redisDuration;
    private int _nodes;

    public ClusterMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableGauge("peerrelay.cluster.nodes", () => Volatile.Read(ref _nodes), "{node}", "Nodes with a live lease, as this node last saw them.");
        _publishes = meter.CreateCounter<long>("peerrelay.cluster.publishes", "{message}", "Messages sent to another node, by result (delivered, unknown_peer, no_receiver, failed).");
        _received = meter.CreateCounter<long>("peerrelay.cluster.received", "{message}", "Messages received from other nodes, by kind (message, echo, close, ack).");
        _takeovers = meter.CreateCounter<long>("peerrelay.cluster.takeovers", "{registration}", "Registrations that closed the same UUID's socket on another node with 4004.");
        _leaseLost = meter.CreateCounter<long>("peerrelay.cluster.lease_lost", "{event}", "Times this node could not renew its lease in time and closed its clients with 1013.");
        _swept = meter.CreateCounter<long>("peerrelay.cluster.swept", "{registration}", "Registrations of dead nodes removed by this node.");
        _redisErrors = meter.CreateCounter<long>("peerrelay.cluster.redis.errors", "{command}", "Redis commands that failed or timed out, by operation.");
        _redisDuration = meter.CreateHistogram<double>("peerrelay.cluster.redis.duration", "s", "Round trip of the heartbeat to Redis.");
    }

    public void Nodes(int count) => Volatile.Write(ref _nodes, count);

    public void Publish(string result)
    {
        if (_publishes.Enabled)
        {
            _publishes.Add(1, new TagList { { "result", result } });
        }
    }

    public void Received(string kind)
    {
        if (_received.Enabled)
        {
            _received.Add(1, new TagList { { "kind", kind } });
        }
    }

    public void TakeOver() => _takeovers.Add(1);

    public void LeaseLost() => _leaseLost.Add(1);

    public void Swept(long count) => _swept.Add(count);

    public void RedisError(string operation)
    {
        if (_redisErrors.Enabled)
        {
            _redisErrors.Add(1, new TagList { { "operation", operation } });
        }
    }

    public void RedisRoundTrip(TimeSpan elapsed) => _redisDuration.Record(elapsed.TotalSeconds);
}
