namespace PeerRelay.Server.Authentication;

/// <summary>No authentication (the default): every client is <see cref="RelayUser.Anonymous"/>, the same user.</summary>
public sealed class NoAuthenticator : IRelayAuthenticator
{
    internal static readonly RelayAuthResult Anonymous = RelayAuthResult.Success(RelayUser.Anonymous);

    /// <inheritdoc />
    /// <value>Always true: the answer is at hand.</value>
    public bool RunsInline => true;

    /// <inheritdoc />
    public ValueTask<RelayAuthResult> AuthenticateAsync(RelayHandshake handshake, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Anonymous);
}
