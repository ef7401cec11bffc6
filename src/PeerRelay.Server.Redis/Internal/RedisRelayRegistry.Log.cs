using Microsoft.Extensions.Logging;

namespace PeerRelay.Server.Redis.Internal;

internal sealed partial class RedisRelayRegistry
{
    // Event ids 600-699: the Redis scale-out.
    private static partial class Log
    {
        [LoggerMessage(600, LogLevel.Information, "Cluster node {NodeId} connecting to Redis")]
        public static partial void Starting(ILogger logger, string nodeId);

        [LoggerMessage(601, LogLevel.Information, "Cluster node {NodeId} holds its lease and is subscribed: routing across nodes")]
        public static partial void Healthy(ILogger logger, string nodeId);

        [LoggerMessage(602, LogLevel.Warning, "Cannot renew this node's lease in Redis: {Problem} ({Why})")]
        public static partial void HeartbeatFailed(ILogger logger, string problem, string why);

        [LoggerMessage(603, LogLevel.Error, "Cluster node {NodeId} could not renew its lease in time; closing its {Count} registered clients with 1013 so they register on another node")]
        public static partial void LeaseExpired(ILogger logger, string nodeId, int count);

        [LoggerMessage(604, LogLevel.Error, "Another process holds the node id {NodeId} in Redis; give every node its own node_id")]
        public static partial void NodeIdTaken(ILogger logger, string nodeId);

        [LoggerMessage(605, LogLevel.Warning, "Refused the registration of {Uuid} with 1013: {Why}")]
        public static partial void RegistrationUnavailable(ILogger logger, Guid uuid, string why);

        [LoggerMessage(606, LogLevel.Information, "Client {Uuid} registered again on connection {NewConnection}; asking node {Node} to close connection {OldConnection} with 4004")]
        public static partial void TakingOverRemote(ILogger logger, Guid uuid, string node, long oldConnection, long newConnection);

        [LoggerMessage(607, LogLevel.Information, "Closing connection {ConnectionId} of {Uuid} with {CloseCode} for node {Node}")]
        public static partial void ClosingForNode(ILogger logger, Guid uuid, long connectionId, int closeCode, string node);

        [LoggerMessage(608, LogLevel.Warning, "Could not ask node {Node} to close the socket of {Uuid}: {Why}")]
        public static partial void CloseOnNodeFailed(ILogger logger, Guid uuid, string node, string why);

        [LoggerMessage(609, LogLevel.Warning, "Could not forward a message from {Source} to {Peer} through Redis: {Why}")]
        public static partial void ForwardFailed(ILogger logger, Guid source, Guid peer, string why);

        [LoggerMessage(610, LogLevel.Warning, "Could not release {Uuid} in Redis ({Why}); it is pruned when Redis answers again")]
        public static partial void ReleaseFailed(ILogger logger, Guid uuid, string why);

        [LoggerMessage(611, LogLevel.Debug, "An error for {Uuid} came back from another node, but the client is gone; dropped")]
        public static partial void EchoDropped(ILogger logger, Guid uuid);

        [LoggerMessage(612, LogLevel.Warning, "Ignored a malformed message of {Bytes} bytes on this node's channel")]
        public static partial void BadEnvelope(ILogger logger, int bytes);

        [LoggerMessage(613, LogLevel.Information, "Removed {Count} registrations of nodes whose lease ran out")]
        public static partial void Swept(ILogger logger, long count);

        [LoggerMessage(614, LogLevel.Information, "Claimed the {Count} registrations of this node's clients again in Redis")]
        public static partial void Reconciled(ILogger logger, int count);

        [LoggerMessage(615, LogLevel.Warning, "Client {Uuid} (connection {ConnectionId}) is held on another node now (Redis came back, or this node did not hear a take-over); closing it with 4004")]
        public static partial void ReclaimConflict(ILogger logger, Guid uuid, long connectionId);

        [LoggerMessage(616, LogLevel.Information, "Cluster node {NodeId} left the fleet")]
        public static partial void Left(ILogger logger, string nodeId);

        [LoggerMessage(617, LogLevel.Warning, "Could not leave the fleet cleanly ({Why}); the other nodes sweep this node's registrations after node_timeout")]
        public static partial void LeaveFailed(ILogger logger, string why);
    }
}
