using Microsoft.AspNetCore.Connections;
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

    /// <summary>
    /// Adds the relay's connection middleware (what <see cref="UsePeerRelay(ListenOptions)"/> puts in front of HTTP/1)
    /// to a pipeline that a transport runs on its event loop once a connection's first bytes have arrived, or when
    /// <see cref="RelayServerOptions.HandshakeTimeout"/> has passed without any (the PeerRelay epoll transport's
    /// <c>UseEventLoop</c>, with <c>firstBytesTimeout</c> set to the handshake time-out): a connection with nothing to
    /// read when the pipeline starts has timed out. WebSocket upgrades are served there; anything else goes on, unread.
    /// </summary>
    /// <param name="builder">The event-loop pipeline.</param>
    /// <returns>The pipeline.</returns>
    public static IConnectionBuilder UsePeerRelayOnEventLoop(this IConnectionBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Use(next => new RelayConnectionMiddleware(next, builder.ApplicationServices, startedByFirstBytes: true).OnConnectedAsync);
        return builder;
    }
}
