using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using PeerRelay.Server.Cluster;
using PeerRelay.Server.Hosting;
using PeerRelay.Server.Redis.Internal;
using PeerRelay.Server.Routing;

namespace PeerRelay.Server.Redis;

/// <summary>Adds the Redis scale-out to a relay (<c>docs/scaling.md</c>).</summary>
public static class PeerRelayRedisBuilderExtensions
{
    /// <summary>
    /// Shares the relay's registry with every node configured with the same Redis: registrations are owned across the
    /// fleet, messages reach a UUID on any node, a dead node's UUIDs are forgotten after
    /// <see cref="RedisScaleOutOptions.NodeTimeout"/>. Adds the health check <c>cluster</c> (tag <c>ready</c>) and the
    /// meter <c>PeerRelay.Cluster</c>.
    /// </summary>
    /// <param name="builder">The relay builder from <c>AddPeerRelay</c>.</param>
    /// <param name="configure">Sets <see cref="RedisScaleOutOptions"/>; <see cref="RedisScaleOutOptions.Configuration"/> is required.</param>
    /// <returns>The builder.</returns>
    public static IPeerRelayBuilder AddRedisScaleOut(this IPeerRelayBuilder builder, Action<RedisScaleOutOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var services = builder.Services;
        services.AddOptions<RedisScaleOutOptions>()
            .Configure(configure)
            .Validate(o => o.Validate().Count == 0, "Invalid PeerRelay cluster options.")
            .ValidateOnStart();
        services.TryAddSingleton<ClusterMetrics>();
        services.TryAddSingleton<RedisRelayRegistry>();
        services.Replace(ServiceDescriptor.Singleton<IRelayRegistry>(sp => sp.GetRequiredService<RedisRelayRegistry>()));
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<RedisRelayRegistry>());

        // The relay's own directory, built once, read by the heartbeat and by the fleet's directory, which replaces it
        // (the admin API's node list: every node of the fleet; this node's own figures still come from the relay).
        var localDirectory = services.LastOrDefault(d => d.ServiceType == typeof(IRelayNodeDirectory));
        var localType = localDirectory?.ImplementationType;
        services.TryAddSingleton(sp => new LocalNodeSource(localType is null ? null : (IRelayNodeDirectory)ActivatorUtilities.CreateInstance(sp, localType)));
        if (localType is not null)
        {
            services.Replace(ServiceDescriptor.Singleton<IRelayNodeDirectory>(sp => new RedisNodeDirectory(
                sp.GetRequiredService<LocalNodeSource>().Directory!, sp.GetRequiredService<RedisRelayRegistry>())));
        }

        services.AddHealthChecks().AddCheck<RedisScaleOutHealthCheck>("cluster", tags: ["ready"]);
        return builder;
    }
}
