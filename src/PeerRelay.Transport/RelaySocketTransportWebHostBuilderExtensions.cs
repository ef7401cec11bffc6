using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PeerRelay.Transport.Internal;
using PeerRelay.Transport.Internal.Epoll;

namespace PeerRelay.Transport;

/// <summary>Puts the PeerRelay socket transport under Kestrel.</summary>
public static class RelaySocketTransportWebHostBuilderExtensions
{
    /// <summary>
    /// Makes Kestrel accept TCP connections (IP endpoints) with the PeerRelay socket transport: each connection reads
    /// and writes its socket directly, with no pipes, pumps or buffers of its own while idle — about half the memory
    /// of Kestrel's socket transport per idle connection and less CPU per message. HTTP/1, HTTP/2, TLS and connection
    /// middleware work on it unchanged; other endpoints (Unix sockets, handles) stay with Kestrel's transport.
    /// </summary>
    /// <param name="builder">The web host builder.</param>
    /// <param name="configure">Sets <see cref="RelaySocketTransportOptions"/>.</param>
    /// <returns>The builder.</returns>
    public static IWebHostBuilder UseRelaySockets(this IWebHostBuilder builder, Action<RelaySocketTransportOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.UseTransport<RelaySocketTransportFactory>(configure);
    }

    /// <summary>
    /// Makes Kestrel accept TCP connections (IP endpoints) with the PeerRelay epoll transport (Linux only): the same
    /// connections as <see cref="UseRelaySockets"/> (no pipes, pumps or buffers while idle), but on event loops of the
    /// transport's own (<see cref="RelaySocketTransportOptions.EventLoops"/>, one per processor by default) that wait in
    /// <c>epoll_wait</c> and run every ready connection inline, with each descriptor registered once, edge-triggered:
    /// one <c>recv</c> per message, no wait to start, no .NET <c>Socket</c> per connection. Endpoints marked with
    /// <see cref="RelayEventLoopListenOptionsExtensions.UseEventLoop"/> serve connections on the loop without Kestrel's
    /// per-connection dispatch. HTTP/1, HTTP/2, TLS and connection middleware work on it unchanged.
    /// </summary>
    /// <param name="builder">The web host builder.</param>
    /// <param name="configure">Sets <see cref="RelaySocketTransportOptions"/>.</param>
    /// <returns>The builder.</returns>
    /// <exception cref="PlatformNotSupportedException">Not on Linux.</exception>
    public static IWebHostBuilder UseRelayEpoll(this IWebHostBuilder builder, Action<RelaySocketTransportOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The PeerRelay epoll transport runs on Linux only.");
        }

        builder.ConfigureServices(services => services.TryAddSingleton<EventLoopEndpoints>());
        return builder.UseTransport<EpollTransportFactory>(configure);
    }

    private static IWebHostBuilder UseTransport<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TFactory>(this IWebHostBuilder builder, Action<RelaySocketTransportOptions>? configure)
        where TFactory : class, IConnectionListenerFactory =>
        builder.ConfigureServices(services =>
        {
            var options = services.AddOptions<RelaySocketTransportOptions>();
            if (configure is not null)
            {
                options.Configure(configure);
            }

            services.AddMetrics();
            services.TryAddSingleton<TransportMetrics>();

            // Kestrel asks the factories registered last first; these bind IP endpoints only.
            services.AddSingleton<IConnectionListenerFactory, TFactory>();
        });
}
