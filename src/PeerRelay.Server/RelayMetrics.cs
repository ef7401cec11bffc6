using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace PeerRelay.Server;

/// <summary>
/// The relay's metrics, on the meter <c>PeerRelay.Server</c>. Names are dotted lower-case; every drop and rejection
/// is counted with a <c>reason</c> tag.
/// </summary>
internal sealed class RelayMetrics
{
    /// <summary>The meter name; subscribe to it with OpenTelemetry or <c>dotnet-counters</c>.</summary>
    public const string MeterName = "PeerRelay.Server";

    private readonly UpDownCounter<long> _connectionsActive;
    private readonly Counter<long> _connectionsOpened;
    private readonly Counter<long> _connectionsClosed;
    private readonly UpDownCounter<long> _clientsRegistered;
    private readonly Counter<long> _registrations;
    private readonly Counter<long> _messagesReceived;
    private readonly Counter<long> _messagesForwarded;
    private readonly Counter<long> _messagesDropped;
    private readonly Counter<long> _messagesRejected;
    private readonly Counter<long> _handshakesRejected;
    private readonly Counter<long> _limitsHit;

    public RelayMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _connectionsActive = meter.CreateUpDownCounter<long>("peerrelay.connections.active", "{connection}", "Open WebSocket connections, registered or not.");
        _connectionsOpened = meter.CreateCounter<long>("peerrelay.connections.opened", "{connection}", "WebSocket connections accepted.");
        _connectionsClosed = meter.CreateCounter<long>("peerrelay.connections.closed", "{connection}", "WebSocket connections ended, by close code (1006: without a close frame).");
        _clientsRegistered = meter.CreateUpDownCounter<long>("peerrelay.clients.registered", "{client}", "Registered clients (UUIDs).");
        _registrations = meter.CreateCounter<long>("peerrelay.registrations", "{registration}", "Registration attempts, by result.");
        _messagesReceived = meter.CreateCounter<long>("peerrelay.messages.received", "{message}", "Messages read from clients.");
        _messagesForwarded = meter.CreateCounter<long>("peerrelay.messages.forwarded", "{message}", "Peer connection messages queued to their target.");
        _messagesDropped = meter.CreateCounter<long>("peerrelay.messages.dropped", "{message}", "Messages not delivered, by reason.");
        _messagesRejected = meter.CreateCounter<long>("peerrelay.messages.rejected", "{message}", "Client messages refused with a close code, by reason.");
        _handshakesRejected = meter.CreateCounter<long>("peerrelay.handshakes.rejected", "{request}", "WebSocket handshakes refused before the upgrade, by reason (e.g. origin).");
        _limitsHit = meter.CreateCounter<long>("peerrelay.limits.hit", "{event}", "Connections, registrations or messages refused by a limit, by limit (its config key).");
    }

    public void ConnectionOpened()
    {
        _connectionsActive.Add(1);
        _connectionsOpened.Add(1);
    }

    public void ConnectionClosed(int closeCode)
    {
        _connectionsActive.Add(-1);
        if (_connectionsClosed.Enabled)
        {
            _connectionsClosed.Add(1, new TagList { { "peerrelay.close_code", closeCode } });
        }
    }

    public void ClientRegistered() => _clientsRegistered.Add(1);

    public void ClientUnregistered() => _clientsRegistered.Add(-1);

    public void Registration(string result)
    {
        if (_registrations.Enabled)
        {
            _registrations.Add(1, new TagList { { "result", result } });
        }
    }

    public void MessageReceived() => _messagesReceived.Add(1);

    public void MessageForwarded() => _messagesForwarded.Add(1);

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
}
