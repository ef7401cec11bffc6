using System.Diagnostics.Metrics;
using System.Net.Sockets;

namespace PeerRelay.Transport.Internal;

/// <summary>The transport's instruments (meter <c>PeerRelay.Transport</c>): connections lost before the application saw them, and closes with unread bytes.</summary>
internal sealed class TransportMetrics
{
    /// <summary>The meter's name, for <c>dotnet-counters</c> and OpenTelemetry.</summary>
    public const string MeterName = "PeerRelay.Transport";

    private readonly Counter<long> _acceptErrors;
    private readonly Counter<long> _lingeringCloses;

    public TransportMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _acceptErrors = meter.CreateCounter<long>("peerrelay.transport.accept_errors", "{error}", "Connections lost or refused while being accepted, by socket error.");
        _lingeringCloses = meter.CreateCounter<long>("peerrelay.transport.lingering_closes", "{connection}", "Connections closed with bytes unread (discarded after FIN), by how the linger ended.");
    }

    public void AcceptError(SocketError error) => _acceptErrors.Add(1, new KeyValuePair<string, object?>("error", error.ToString()));

    /// <summary>Counts a lingering close: <c>peer_closed</c>, <c>timed_out</c>, <c>reset</c> or <c>over_bytes</c> (reset after too many bytes).</summary>
    public void LingeringClose(string outcome) => _lingeringCloses.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
}
