using Microsoft.AspNetCore.Server.Kestrel.Core;
using PeerRelay.Server.Internal;

namespace PeerRelay.Server.Hosting;

/// <summary>Puts the relay in front of Kestrel's HTTP/1 on an endpoint.</summary>
public static class PeerRelayListenOptionsExtensions
{
    /// <summary>
    /// Serves WebSocket upgrades on this endpoint directly from the connection (any path), before Kestrel's HTTP/1:
    /// less memory per client and less CPU per message than the <see cref="PeerRelayEndpointRouteBuilderExtensions.MapPeerRelay"/>
    /// endpoint, which still serves every other request. Call after <c>UseHttps</c>, so it sees decrypted bytes, and
    /// still map the relay with <c>MapPeerRelay</c>. Requires <see cref="PeerRelayServiceCollectionExtensions.AddPeerRelay"/>.
    /// </summary>
    /// <param name="listenOptions">The endpoint.</param>
    /// <returns>The endpoint.</returns>
    public static ListenOptions UsePeerRelay(this ListenOptions listenOptions)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        listenOptions.Use(next => new RelayConnectionMiddleware(next, listenOptions.ApplicationServices).OnConnectedAsync);
        return listenOptions;
    }
}
