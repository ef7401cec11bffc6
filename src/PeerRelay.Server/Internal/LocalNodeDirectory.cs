using PeerRelay.Server.Cluster;

namespace PeerRelay.Server.Internal;

/// <summary>Single-node mode: this node only.</summary>
internal sealed class LocalNodeDirectory(ClientRegistry registry, RelayLifetime lifetime, TimeProvider timeProvider) : IRelayNodeDirectory
{
    public string LocalNodeId { get; } = Environment.MachineName;

    public ValueTask<IReadOnlyList<RelayNodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<IReadOnlyList<RelayNodeInfo>>(
        [
            new RelayNodeInfo(LocalNodeId, IsLocal: true, registry.ConnectionCount, registry.RegisteredCount, timeProvider.GetUtcNow())
            {
                Draining = lifetime.IsDraining,
            },
        ]);
}
