using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace PeerRelay.Server.Redis.Internal;

/// <summary>
/// The node's standing in the fleet as an ASP.NET Core health check (<c>cluster</c>, tagged <c>ready</c>: /readyz):
/// healthy while it holds its lease and receives on its channel; degraded while Redis does not answer but the lease
/// has not run out (it still routes between its own clients; /readyz 200 <c>degraded</c>); unhealthy without a lease
/// (it can register no one: /readyz 503, so that a load balancer sends new clients to other nodes).
/// </summary>
internal sealed class RedisScaleOutHealthCheck(RedisRelayRegistry registry) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["node_id"] = registry.NodeId, ["clients"] = registry.Local.Count };
        return Task.FromResult(registry.Problem is not { } problem
            ? HealthCheckResult.Healthy("cluster: connected", data)
            : registry.LeaseHeld
                ? HealthCheckResult.Degraded(problem, data: data)
                : HealthCheckResult.Unhealthy(problem, data: data));
    }
}
