using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace PeerRelay.Transport;

/// <summary>Serves an endpoint's connections on the epoll transport's event loop.</summary>
public static class RelayEventLoopListenOptionsExtensions
{
    /// <summary>
    /// With the epoll transport (<see cref="RelaySocketTransportWebHostBuilderExtensions.UseRelayEpoll"/>), runs each new
    /// connection of this endpoint through the pipeline <paramref name="configure"/> builds, on the event loop that
    /// accepted it, once its first bytes have arrived (or <paramref name="firstBytesTimeout"/> has passed): no Kestrel
    /// connection, dispatch to the thread pool or HTTP objects for what the pipeline serves itself. What it does not
    /// serve it passes on, and Kestrel takes the connection, unread, through this endpoint's own middleware and HTTP.
    /// Plain TCP endpoints only: the pipeline sees the bytes as they arrive, so never on an endpoint with <c>UseHttps</c>.
    /// Without the epoll transport it does nothing.
    /// </summary>
    /// <param name="listenOptions">The endpoint.</param>
    /// <param name="configure">Adds the pipeline's middleware (e.g. the relay's).</param>
    /// <param name="firstBytesTimeout">How long a connection may send nothing before the pipeline runs anyway.</param>
    /// <returns>The endpoint.</returns>
    public static ListenOptions UseEventLoop(this ListenOptions listenOptions, Action<IConnectionBuilder> configure, TimeSpan firstBytesTimeout)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        ArgumentNullException.ThrowIfNull(configure);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(firstBytesTimeout, TimeSpan.Zero);

        // Kestrel builds an endpoint's middleware right before it binds it: the endpoint is known then, and its services.
        listenOptions.Use(next =>
        {
            listenOptions.ApplicationServices.GetService<EventLoopEndpoints>()?.Add(listenOptions.EndPoint, configure, firstBytesTimeout);
            return next;
        });
        return listenOptions;
    }
}
