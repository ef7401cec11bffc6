namespace PeerRelay.Server.Authentication;

/// <summary>
/// Decides who a connection belongs to, from its opening handshake. Called when the client registers, so that a
/// failure reaches the client as a close code. One implementation per method: none, Globus, JWT.
/// </summary>
/// <remarks>
/// Implementations must be thread-safe and must never log tokens. They should not block; one that may (a synchronous
/// database or file lookup) keeps <see cref="RunsInline"/> false, and the relay calls it on the thread pool.
/// </remarks>
public interface IRelayAuthenticator
{
    /// <summary>
    /// Gets a value indicating whether <see cref="AuthenticateAsync"/> may run on the thread that read the
    /// registration. On the epoll transport (the default on Linux) that thread is an event loop serving every
    /// connection it accepted, so only an implementation that never blocks (it answers at once or awaits asynchronous
    /// I/O) should return true. False, the default for an implementation that does not say, makes the relay call it on
    /// the thread pool: a blocking call then holds one pool thread instead of a loop's connections, at the cost of one
    /// thread hand-off per registration. The built-in authenticators return true.
    /// </summary>
    bool RunsInline => false;

    /// <summary>Authenticates the client that opened <paramref name="handshake"/>.</summary>
    /// <param name="handshake">The opening HTTP request.</param>
    /// <param name="cancellationToken">Cancelled when the connection or the server goes away.</param>
    /// <returns>The user, or the failure with its close code.</returns>
    ValueTask<RelayAuthResult> AuthenticateAsync(RelayHandshake handshake, CancellationToken cancellationToken = default);
}
