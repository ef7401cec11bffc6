namespace PeerRelay.Server.Internal;

/// <summary>What happened to a message handed to <see cref="RelayConnection.TrySend"/>.</summary>
internal enum SendResult
{
    /// <summary>Queued for the connection's writer.</summary>
    Queued,

    /// <summary>The queue was full: the connection is not reading. The message was dropped.</summary>
    QueueFull,

    /// <summary>The connection is closing. The message was dropped.</summary>
    Closed,
}
