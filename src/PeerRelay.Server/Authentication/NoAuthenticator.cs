namespace PeerRelay.Server.Authentication;

/// <summary>No authentication (the default): every client is <see cref="RelayUser.Anonymous"/>, the same user.</summary>
public sealed class NoAuthenticator : IRelayAuthenticator
{
    internal static readonly RelayAuthResult Anonymous = RelayAuthResult.Success(RelayUser.Anonymous);

    /// <inheritdoc />
    public ValueTask<RelayAuthResult> AuthenticateAsync(RelayHandshake handshake, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Anonymous);
}
