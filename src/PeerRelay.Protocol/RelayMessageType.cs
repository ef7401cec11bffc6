namespace PeerRelay.Protocol;

/// <summary>The three message types of the relay protocol.</summary>
public enum RelayMessageType
{
    /// <summary><c>relay_registration</c>: a client asks to be reachable under a UUID. Client to server.</summary>
    RelayRegistration,

    /// <summary><c>relay_response</c>: the server's answer to a registration or a failed request. Server to client.</summary>
    RelayResponse,

    /// <summary><c>peer_connection</c>: a session description (offer, answer, candidate) for another peer. Both ways.</summary>
    PeerConnection,
}
