using PeerRelay.Server.Authentication;

namespace PeerRelay.Testing;

/// <summary>
/// A test authenticator: the user is the <c>X-Test-User</c> header (anonymous when absent);
/// <c>X-Test-Reject: 4001|4002|1013</c> makes authentication fail with that code.
/// </summary>
public sealed class HeaderUserAuthenticator : IRelayAuthenticator
{
    public ValueTask<RelayAuthResult> AuthenticateAsync(RelayHandshake handshake, CancellationToken cancellationToken = default)
    {
        var reject = handshake.Headers["X-Test-Reject"].ToString();
        var result = reject switch
        {
            "4001" => RelayAuthResult.Unauthorized("Request headers are missing authorization header."),
            "4002" => RelayAuthResult.Forbidden("Token is not active."),
            "1013" => RelayAuthResult.Unavailable("Identity service did not answer."),
            _ => RelayAuthResult.Success(new RelayUser(handshake.Headers["X-Test-User"].ToString())),
        };
        return ValueTask.FromResult(result);
    }
}
