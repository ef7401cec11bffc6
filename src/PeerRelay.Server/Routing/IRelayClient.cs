namespace PeerRelay.Server.Routing;

/// <summary>A client's WebSocket on this node, as an <see cref="IRelayRegistry"/> sees it.</summary>
public interface IRelayClient
{
    /// <summary>Gets the connection's id, unique in this process.</summary>
    long Id { get; }

    /// <summary>Gets what the connection registered as, or null. Changed only by the registry.</summary>
    RelayClientRegistration? Registration { get; set; }

    /// <summary>Gets a value indicating whether a close has been requested.</summary>
    bool IsClosing { get; }

    /// <summary>
    /// Sends one text message (UTF-8 JSON) that came from another node. Never blocks: a client that does not read is
    /// closed with 1008 when its send queue is full.
    /// </summary>
    /// <param name="utf8Json">The message.</param>
    /// <returns><see cref="RelayDeliveryStatus.Delivered"/>, or why not.</returns>
    RelayDeliveryStatus Send(ReadOnlySpan<byte> utf8Json);

    /// <summary>
    /// Closes the socket with <paramref name="code"/> and waits until its close has completed: the client answered the
    /// close frame, or the close timeout passed and the socket was aborted. Idempotent.
    /// </summary>
    /// <param name="code">The close code.</param>
    /// <param name="reason">The close reason.</param>
    /// <returns>A task that completes when the connection has ended.</returns>
    Task CloseAsync(int code, string reason);
}
