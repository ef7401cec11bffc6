using PeerRelay.Server.Authentication;

namespace PeerRelay.Server.Tests.Hardening;

/// <summary>Test authenticator: the user is the <c>X-Test-User</c> header (a real authenticator, not a mock of one).</summary>
internal sealed class HeaderUserAuthenticator : IRelayAuthenticator
{
    public ValueTask<RelayAuthResult> AuthenticateAsync(RelayHandshake handshake, CancellationToken cancellationToken = default)
    {
        var user = handshake.Headers["X-Test-User"].ToString();
        return ValueTask.FromResult(user.Length == 0
            ? RelayAuthResult.Unauthorized("no X-Test-User header")
            : RelayAuthResult.Success(new RelayUser(user)));
    }
}
