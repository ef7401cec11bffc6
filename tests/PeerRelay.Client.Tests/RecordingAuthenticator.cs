using System.Collections.Concurrent;
using PeerRelay.Server.Authentication;

namespace PeerRelay.Client.Tests;

/// <summary>A test authenticator: records the Authorization header of every registration and decides by a callback.</summary>
internal sealed class RecordingAuthenticator(Func<string, RelayAuthResult> decide) : IRelayAuthenticator
{
    public ConcurrentQueue<string> AuthorizationHeaders { get; } = new();

    public ValueTask<RelayAuthResult> AuthenticateAsync(RelayHandshake handshake, CancellationToken cancellationToken = default)
    {
        var header = handshake.Headers.Authorization.ToString();
        AuthorizationHeaders.Enqueue(header);
        return ValueTask.FromResult(decide(header));
    }

    public static RelayAuthResult AcceptAll(string header) => RelayAuthResult.Success(new RelayUser("user"));
}
