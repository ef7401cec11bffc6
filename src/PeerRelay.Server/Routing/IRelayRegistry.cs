using PeerRelay.Server.Authentication;

namespace PeerRelay.Server.Routing;

/// <summary>
/// Who holds which UUID, and how a message reaches it: what SignalR's <c>HubLifetimeManager</c> is for SignalR. The
/// relay logic finds and reaches peers only through this interface. The default implementation keeps everything in
/// this process (one node); <c>PeerRelay.Server.Redis</c> shares the registry between the nodes of a fleet.
/// </summary>
/// <remarks>
/// The relay calls <see cref="Find"/> first for every message: a peer connected to this node is reached directly,
/// at no cost beyond a dictionary lookup. Only a UUID not held on this node goes to <see cref="DeliverAsync"/>.
/// </remarks>
public interface IRelayRegistry
{
    /// <summary>
    /// Registers <paramref name="client"/> as <paramref name="registration"/>, checking the owner atomically across
    /// every node: a UUID another user holds is refused (<see cref="RelayRegistrationStatus.ForeignUuid"/>); one the
    /// same user holds on another socket is taken over. A take-over of a socket on this node returns it in
    /// <see cref="RelayRegistrationResult.Displaced"/> for the caller to close with 4004 before it answers; a socket on
    /// another node is closed with 4004 (and its close completed) before this method returns. Also enforces
    /// <see cref="RelayServerOptions.MaxClientsPerUser"/>, counted over every node. A UUID the client held before is
    /// released.
    /// </summary>
    /// <param name="client">The connection that registers.</param>
    /// <param name="registration">What it registers as.</param>
    /// <param name="cancellationToken">Cancelled when the connection goes away.</param>
    /// <returns>The outcome.</returns>
    ValueTask<RelayRegistrationResult> RegisterAsync(IRelayClient client, RelayClientRegistration registration, CancellationToken cancellationToken = default);

    /// <summary>
    /// Releases the UUID <paramref name="client"/> holds, if it still holds one (a later registration of the same
    /// UUID elsewhere is never touched). Idempotent; never blocks.
    /// </summary>
    /// <param name="client">The connection, closing or dropped.</param>
    /// <returns>The registration that was released, or null.</returns>
    RelayClientRegistration? Release(IRelayClient client);

    /// <summary>Finds the connection on this node that holds <paramref name="uuid"/>. Lock-free.</summary>
    /// <param name="uuid">The UUID.</param>
    /// <returns>The connection, or null when no connection of this node holds it.</returns>
    IRelayClient? Find(Guid uuid);

    /// <summary>
    /// Delivers an encoded <c>peer_connection</c> message to <paramref name="peer"/>, a UUID no connection of this node
    /// holds, if <paramref name="source"/>'s user holds it elsewhere. Messages of one sender to one peer arrive in the
    /// order of the calls: the message's place is fixed when this method returns, so the caller may make its next call
    /// before the returned task completes (the relay does: a sender's receive loop does not wait for another node). The
    /// task may complete on a thread of the registry's (e.g. the one that reads the reply): continuations should be
    /// short and never block. The single-node registry answers <see cref="RelayDeliveryStatus.UnknownPeer"/> at once.
    /// </summary>
    /// <param name="source">The sender's registration (its user must own the peer).</param>
    /// <param name="peer">The target UUID.</param>
    /// <param name="message">The UTF-8 JSON text of the message, stamped with the sender's identity; the caller keeps it valid until the task completes.</param>
    /// <param name="cancellationToken">Cancelled when the sender goes away.</param>
    /// <returns>Whether the message went to the node that holds the peer.</returns>
    ValueTask<RelayDeliveryStatus> DeliverAsync(RelayClientRegistration source, Guid peer, ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default);

    /// <summary>
    /// Closes the socket that holds <paramref name="uuid"/>, on whichever node, with <paramref name="code"/> and
    /// <paramref name="reason"/>, and waits for its close to complete (answered, or aborted after the close timeout).
    /// </summary>
    /// <param name="uuid">The UUID.</param>
    /// <param name="code">The WebSocket close code.</param>
    /// <param name="reason">The close reason (at most 123 UTF-8 bytes are sent).</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>True when a socket held it and was closed.</returns>
    ValueTask<bool> CloseAsync(Guid uuid, int code, string reason, CancellationToken cancellationToken = default);
}
