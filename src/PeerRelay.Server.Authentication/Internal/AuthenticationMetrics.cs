using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace PeerRelay.Server.Authentication.Internal;

/// <summary>Metrics of the authenticators, on the meter <c>PeerRelay.Server.Authentication</c>.</summary>
internal sealed class AuthenticationMetrics
{
    /// <summary>The meter name.</summary>
    public const string MeterName = "PeerRelay.Server.Authentication";

    private readonly Counter<long> _introspections;
    private readonly Histogram<double> _introspectionDuration;
    private readonly Counter<long> _cacheLookups;
    private readonly Counter<long> _unavailable;

    public AuthenticationMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _introspections = meter.CreateCounter<long>("peerrelay.auth.introspections", "{request}", "Token introspection requests sent, by result (active, inactive, error).");
        _introspectionDuration = meter.CreateHistogram<double>("peerrelay.auth.introspection.duration", "s", "Time a token introspection request took.");
        _cacheLookups = meter.CreateCounter<long>("peerrelay.auth.cache.lookups", "{lookup}", "Introspection cache lookups, by result (hit, miss).");
        _unavailable = meter.CreateCounter<long>("peerrelay.auth.unavailable", "{event}", "Clients closed with 1013 because the identity service failed, by method and reason.");
    }

    public void Introspection(string result, TimeSpan duration)
    {
        if (_introspections.Enabled)
        {
            _introspections.Add(1, new TagList { { "result", result } });
        }

        _introspectionDuration.Record(duration.TotalSeconds);
    }

    public void CacheLookup(bool hit)
    {
        if (_cacheLookups.Enabled)
        {
            _cacheLookups.Add(1, new TagList { { "result", hit ? "hit" : "miss" } });
        }
    }

    public void Unavailable(string method, string reason)
    {
        if (_unavailable.Enabled)
        {
            _unavailable.Add(1, new TagList { { "method", method }, { "reason", reason } });
        }
    }
}
