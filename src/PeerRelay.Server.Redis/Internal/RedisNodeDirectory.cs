using PeerRelay.Server.Cluster;
using StackExchange.Redis;

namespace PeerRelay.Server.Redis.Internal;

/// <summary>
/// The fleet's nodes for the admin API and dashboard: this node from the relay's own directory, the others from what
/// each reported with its last heartbeat (nodes whose lease ran out are not listed).
/// </summary>
internal sealed class RedisNodeDirectory : IRelayNodeDirectory
{
    private readonly IRelayNodeDirectory _local;
    private readonly RedisRelayRegistry _registry;

    public RedisNodeDirectory(IRelayNodeDirectory local, RedisRelayRegistry registry)
    {
        _local = local;
        _registry = registry;
    }

    public string LocalNodeId => _registry.NodeId;

    public async ValueTask<IReadOnlyList<RelayNodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default)
    {
        var self = (await _local.GetNodesAsync(cancellationToken).ConfigureAwait(false))[0] with { Id = _registry.NodeId };
        var nodes = new List<RelayNodeInfo> { self };
        try
        {
            foreach (var (node, connections, clients, draining, seen) in await _registry.ReadNodesAsync().ConfigureAwait(false))
            {
                if (node != _registry.NodeId)
                {
                    nodes.Add(new RelayNodeInfo(node, IsLocal: false, connections, clients, seen) { Draining = draining });
                }
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Redis away: this node is all that can be shown (its readiness says why).
        }

        return nodes;
    }
}
