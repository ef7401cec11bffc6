using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using PeerRelay.Server.Internal;

namespace PeerRelay.Server.Hosting;

/// <summary>Registers the relay's limits (docs/security.md, "Limits and abuse resistance"); called by AddPeerRelay.</summary>
internal static class PeerRelayLimitsServiceCollectionExtensions
{
    public static IServiceCollection AddPeerRelayLimits(this IServiceCollection services)
    {
        services.TryAddSingleton<ClientAddressResolver>();
        services.TryAddSingleton<ConnectionLimiter>();
        services.TryAddSingleton<RelayLimits>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RegistrationDeadline>());

        // The handshake timeout is Kestrel's: the time a client may take to send its request headers.
        services.AddOptions<KestrelServerOptions>()
            .Configure<IOptions<RelayServerOptions>>((kestrel, relay) =>
            {
                if (relay.Value.HandshakeTimeout > TimeSpan.Zero)
                {
                    kestrel.Limits.RequestHeadersTimeout = relay.Value.HandshakeTimeout;
                }
            });
        return services;
    }
}
