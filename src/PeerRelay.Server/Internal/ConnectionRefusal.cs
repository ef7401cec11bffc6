using PeerRelay.Protocol;

namespace PeerRelay.Server.Internal;

/// <summary>
/// How a WebSocket upgrade the relay turns away for load or drain is answered: the upgrade is accepted and the
/// WebSocket closed at once with 1013 (Try Again Later) and a short reason. Not an HTTP 503/429: ProxyStore's
/// <c>RelayClient</c> retries with back-off on any close code but 4001/4002/4004, while an HTTP status in the
/// handshake ends its endpoint for good. Plain HTTP requests never reach this (they keep their statuses).
/// </summary>
internal static class ConnectionRefusal
{
    /// <summary>Reason of the 1013 close while the relay drains (shutting down).</summary>
    public const string DrainingReason = "Server is shutting down; try again later.";

    /// <summary>The close reason for a refusal by <see cref="ConnectionLimiter"/>.</summary>
    public static string ReasonOf(ConnectionAdmission admission) => admission switch
    {
        ConnectionAdmission.TooManyFromAddress => "Too many connections from this address (max_connections_per_ip); try again later.",
        ConnectionAdmission.ConnectingTooFast => "Too many new connections from this address (new_connection_rate); try again later.",
        ConnectionAdmission.Penalized => "A connection from this address was closed for abuse (abuse_penalty); try again later.",
        _ => "The relay is at its connection limit (max_connections); try again later.",
    };

    /// <summary>
    /// Closes a connection accepted only to be refused: 1013 with <paramref name="reason"/>. The close handshake is
    /// bounded by <c>close_timeout</c> as every other close is.
    /// </summary>
    public static void Refuse(RelayConnection connection, string reason) =>
        connection.Close(RelayCloseCodes.TryAgainLater, reason);
}
