namespace PeerRelay.Server.Cluster;

/// <summary>One relay node as the admin API shows it.</summary>
/// <param name="Id">The node's identifier.</param>
/// <param name="IsLocal">Whether it is the node answering.</param>
/// <param name="Connections">Its open WebSocket connections.</param>
/// <param name="Clients">Its registered clients.</param>
/// <param name="LastSeen">When it was last heard from (now, for this node).</param>
public sealed record RelayNodeInfo(string Id, bool IsLocal, int Connections, int Clients, DateTimeOffset LastSeen)
{
    /// <summary>Gets a value indicating whether the node is draining (refusing new clients).</summary>
    public bool Draining { get; init; }
}
