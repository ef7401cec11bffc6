namespace PeerRelay.Server.Routing;

/// <summary>
/// The <c>error</c> text of a <c>peer_connection</c> message returned to its sender, the same on every node. Every text
/// begins with the reference's <c>Cannot forward peer connection message to peer &lt;uuid&gt;</c>, which clients look for.
/// </summary>
public static class RelayDeliveryErrors
{
    /// <summary>Gets the error text for a message to <paramref name="peer"/> that ended as <paramref name="status"/>.</summary>
    /// <param name="status">Why it was not delivered.</param>
    /// <param name="peer">The target UUID.</param>
    /// <returns>The text.</returns>
    public static string Describe(RelayDeliveryStatus status, Guid peer) => status switch
    {
        RelayDeliveryStatus.QueueFull => $"Cannot forward peer connection message to peer {peer} because the peer did not read its messages and was disconnected.",
        RelayDeliveryStatus.PeerClosed => $"Cannot forward peer connection message to peer {peer} because the peer disconnected.",
        RelayDeliveryStatus.Unavailable => $"Cannot forward peer connection message to peer {peer} because the relay's registry is unavailable; try again.",

        // One text for "unknown" and "another user's": the answer must not tell whether a foreign UUID is online.
        _ => $"Cannot forward peer connection message to peer {peer} because this peer is not registered with this relay server.",
    };
}
