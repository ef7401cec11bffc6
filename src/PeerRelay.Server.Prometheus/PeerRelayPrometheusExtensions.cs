using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using PeerRelay.Server.Hosting;
using PeerRelay.Server.Prometheus.Internal;
using Prometheus;

namespace PeerRelay.Server.Prometheus;

/// <summary>Exports the relay's metrics in the Prometheus text format (docs/operations.md, "Metrics").</summary>
public static class PeerRelayPrometheusExtensions
{
    /// <summary>The content type of the Prometheus text exposition format 0.0.4.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    /// <summary>
    /// Publishes every <c>PeerRelay*</c> meter of this host (relay, transport, authentication, cluster) and the process's
    /// CPU, memory, threads and GC figures (<c>process_*</c>, <c>dotnet_*</c>) for <see cref="MapPeerRelayMetrics"/>.
    /// Instrument names become Prometheus names by one rule: dots to underscores, the unit as a suffix
    /// (<c>_seconds</c>, <c>_bytes</c>), <c>_total</c> on counters.
    /// </summary>
    /// <param name="builder">The relay builder.</param>
    /// <returns>The builder.</returns>
    public static IPeerRelayBuilder AddPrometheusMetrics(this IPeerRelayBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton(sp =>
        {
            var registry = Metrics.NewCustomRegistry();
            _ = new ProcessCollector(registry);
            return new PrometheusMeterBridge(sp.GetRequiredService<IMeterFactory>(), registry);
        });

        // Created at start-up, so that no measurement before the first scrape is missed.
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PrometheusBridgeStarter>());
        return builder;
    }

    /// <summary>
    /// Maps <c>GET</c> <paramref name="pattern"/> to the Prometheus text format of the metrics added by
    /// <see cref="AddPrometheusMetrics"/>. A WebSocket upgrade on the same path still goes to the relay.
    /// </summary>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="pattern">The path. Default <c>/metrics</c>.</param>
    /// <returns>The endpoint's convention builder.</returns>
    public static IEndpointConventionBuilder MapPeerRelayMetrics(this IEndpointRouteBuilder endpoints, string pattern = "/metrics")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var registry = endpoints.ServiceProvider.GetRequiredService<PrometheusMeterBridge>().Registry;
        return endpoints.MapRelayPage(pattern, async context =>
        {
            context.Response.ContentType = ContentType;
            context.Response.Headers.CacheControl = "no-store";
            await registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
        }).WithDisplayName("PeerRelay metrics");
    }

    private sealed class PrometheusBridgeStarter(PrometheusMeterBridge bridge) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            GC.KeepAlive(bridge);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
