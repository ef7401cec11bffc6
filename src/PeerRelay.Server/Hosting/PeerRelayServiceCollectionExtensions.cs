using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using PeerRelay.Server.Authentication;
using PeerRelay.Server.Cluster;
using PeerRelay.Server.Internal;
using PeerRelay.Server.Routing;

namespace PeerRelay.Server.Hosting;

/// <summary>Adds the relay to a service collection.</summary>
public static class PeerRelayServiceCollectionExtensions
{
    /// <summary>
    /// Adds the relay's services: registry, routing, metrics, the periodic client log and graceful drain. Without
    /// a call to <see cref="UseAuthenticator{T}(IPeerRelayBuilder)"/> there is no authentication.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets <see cref="RelayServerOptions"/>.</param>
    /// <returns>A builder for opt-ins.</returns>
    public static IPeerRelayBuilder AddPeerRelay(this IServiceCollection services, Action<RelayServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<RelayServerOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.Validate(o => o.Validate().Count == 0, "Invalid PeerRelay options.");
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IRelayAuthenticator, NoAuthenticator>();
        services.TryAddSingleton<ClientRegistry>();
        services.TryAddSingleton<LocalRelayRegistry>();
        services.TryAddSingleton<IRelayRegistry>(sp => sp.GetRequiredService<LocalRelayRegistry>());
        services.TryAddSingleton<RelayMetrics>();
        services.TryAddSingleton<RelayRouter>();
        services.TryAddSingleton<RelayWebSocketHandler>();
        services.TryAddSingleton<OriginPolicy>();
        RequestLogRedaction.Add(services);
        services.TryAddSingleton<RelayLifetime>();
        services.TryAddSingleton<IRelayNodeDirectory, LocalNodeDirectory>();
        services.AddHealthChecks().AddCheck<DrainHealthCheck>(PeerRelayHealthChecks.DrainCheckName, tags: [PeerRelayHealthChecks.ReadyTag]);
        services.AddPeerRelayLimits();
        services.AddHostedService(sp => sp.GetRequiredService<RelayLifetime>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ConnectedClientsLogger>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ConnectionSweeper>());
        return new PeerRelayBuilder(services);
    }

    /// <summary>Replaces the authenticator with <typeparamref name="T"/>, resolved from the container.</summary>
    /// <typeparam name="T">The authenticator type.</typeparam>
    /// <param name="builder">The relay builder.</param>
    /// <returns>The builder.</returns>
    public static IPeerRelayBuilder UseAuthenticator<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] T>(this IPeerRelayBuilder builder)
        where T : class, IRelayAuthenticator
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Replace(ServiceDescriptor.Singleton<IRelayAuthenticator, T>());
        return builder;
    }

    /// <summary>Replaces the authenticator with <paramref name="authenticator"/>.</summary>
    /// <param name="builder">The relay builder.</param>
    /// <param name="authenticator">The authenticator instance.</param>
    /// <returns>The builder.</returns>
    public static IPeerRelayBuilder UseAuthenticator(this IPeerRelayBuilder builder, IRelayAuthenticator authenticator)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(authenticator);
        builder.Services.Replace(ServiceDescriptor.Singleton(authenticator));
        return builder;
    }
}
