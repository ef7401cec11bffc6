using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PeerRelay.Transport.Internal;

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
        return builder.ConfigureServices(services =>
        {
            var options = services.AddOptions<RelaySocketTransportOptions>();
            if (configure is not null)
            {
                options.Configure(configure);
            }

            services.AddMetrics();
            services.TryAddSingleton<TransportMetrics>();

            // Kestrel asks the factories registered last first; this one binds IP endpoints only.
            services.AddSingleton<IConnectionListenerFactory, RelaySocketTransportFactory>();
        });
    }
}
