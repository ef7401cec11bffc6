namespace PeerRelay.Server.Cluster;

/// <summary>
/// The relay's nodes, as the admin API and dashboard show them, and this node's name (the <c>node</c> field of each client).
/// The default knows this node only; a scale-out backend replaces it (<c>services.Replace(...)</c>) with one that
/// lists every node it sees.
/// </summary>
public interface IRelayNodeDirectory
{
    /// <summary>Gets this node's identifier (default: the machine name).</summary>
    string LocalNodeId { get; }

    /// <summary>Lists the nodes, this one included.</summary>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The nodes, this node first.</returns>
    ValueTask<IReadOnlyList<RelayNodeInfo>> GetNodesAsync(CancellationToken cancellationToken = default);
}
