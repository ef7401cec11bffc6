using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace PeerRelay.Server.Internal;

/// <summary>Not ready while the relay drains (shutting down, or drained by an operator through the admin API).</summary>
internal sealed class DrainHealthCheck(RelayLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.IsDraining ? HealthCheckResult.Unhealthy("draining") : HealthCheckResult.Healthy());
}
