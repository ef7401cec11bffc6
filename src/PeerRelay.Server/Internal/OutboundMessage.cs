using System.Buffers;
using PeerRelay.Internal;

namespace PeerRelay.Server.Internal;

/// <summary>An encoded message waiting in a connection's send queue: a pooled array and how much of it is used.</summary>
internal readonly record struct OutboundMessage(byte[] Buffer, int Length)
{
    public ReadOnlyMemory<byte> Memory => Buffer.AsMemory(0, Length);

    public void Return() => ThreadBufferCache.Return(Buffer);
}
