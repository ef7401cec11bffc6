namespace PeerRelay.Server.Routing;

/// <summary>What happened to a message handed to <see cref="IRelayRegistry.DeliverAsync"/> or <see cref="IRelayClient.Send"/>.</summary>
public enum RelayDeliveryStatus
{
    /// <summary>Handed to the peer's connection (or to the node that holds it).</summary>
    Delivered,

    /// <summary>No connection of the sender's user holds the UUID (or its node is gone).</summary>
    UnknownPeer,

    /// <summary>The peer's connection is closing.</summary>
    PeerClosed,

    /// <summary>The peer did not read its messages; it was closed with 1008.</summary>
    QueueFull,

    /// <summary>The shared store could not be reached; the message was not delivered.</summary>
    Unavailable,
}
