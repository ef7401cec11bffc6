namespace PeerRelay.Server.Authentication;

/// <summary>
/// Decides who a connection belongs to, from its opening handshake. Called when the client registers, so that a
/// failure reaches the client as a close code. One implementation per method: none, Globus, JWT.
/// </summary>
/// <remarks>Implementations must be thread-safe, must not block, and must never log tokens.</remarks>
public interface IRelayAuthenticator
{
    /// <summary>Authenticates the client that opened <paramref name="handshake"/>.</summary>
    /// <param name="handshake">The opening HTTP request.</param>
    /// <param name="cancellationToken">Cancelled when the connection or the server goes away.</param>
    /// <returns>The user, or the failure with its close code.</returns>
    ValueTask<RelayAuthResult> AuthenticateAsync(RelayHandshake handshake, CancellationToken cancellationToken = default);
}
