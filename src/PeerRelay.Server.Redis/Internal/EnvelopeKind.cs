namespace PeerRelay.Server.Redis.Internal;

/// <summary>The first byte of a message on a node's channel.</summary>
internal enum EnvelopeKind : byte
{
    /// <summary>A peer_connection message for a UUID on the receiving node; on failure it is echoed to the origin.</summary>
    Message = (byte)'M',

    /// <summary>A message returned to its sender with <c>error</c> set; dropped (and counted) if the sender is gone.</summary>
    Echo = (byte)'E',

    /// <summary>Close a UUID's socket (a take-over: 4004) and answer with <see cref="Ack"/> once its close completed.</summary>
    Close = (byte)'K',

    /// <summary>The answer to <see cref="Close"/>.</summary>
    Ack = (byte)'A',
}
