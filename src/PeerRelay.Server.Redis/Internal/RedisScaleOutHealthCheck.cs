using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace PeerRelay.Server.Redis.Internal;

/// <summary>
/// The node's standing in the fleet as an ASP.NET Core health check (<c>cluster</c>, tagged <c>ready</c>): healthy
/// while it holds its lease and receives on its channel; degraded otherwise (it still routes between its own clients).
/// </summary>
internal sealed class RedisScaleOutHealthCheck(RedisRelayRegistry registry) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["node_id"] = registry.NodeId, ["clients"] = registry.Local.Count };
        return Task.FromResult(registry.Problem is { } problem
            ? HealthCheckResult.Degraded($"cluster: {problem}", data: data)
            : HealthCheckResult.Healthy("cluster: connected", data));
    }
}
