using PeerRelay.Server.Cluster;

namespace PeerRelay.Server.Redis.Internal;

/// <summary>
/// The relay's own node directory (this node's connections, clients and draining), created once for the two that
/// read it: the heartbeat (<see cref="RedisRelayRegistry"/>) and the fleet's directory (<see cref="RedisNodeDirectory"/>),
/// which replaces it in the container. Null when the relay registered none that can be built here.
/// </summary>
internal sealed class LocalNodeSource(IRelayNodeDirectory? directory)
{
    public IRelayNodeDirectory? Directory { get; } = directory;

    /// <summary>Reads this node's figures, or null without a directory.</summary>
    public async ValueTask<RelayNodeInfo?> GetAsync(CancellationToken cancellationToken = default) =>
        Directory is { } directory ? (await directory.GetNodesAsync(cancellationToken).ConfigureAwait(false))[0] : null;
}
