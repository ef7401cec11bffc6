using System.Buffers.Binary;
using System.Text;

namespace PeerRelay.Server.Redis.Internal;

/// <summary>
/// What nodes send each other on their channels: one byte of <see cref="EnvelopeKind"/>, then fixed binary fields, then
/// a UTF-8 tail (a relay message, or a close reason). Pure: bytes in, fields out.
/// </summary>
internal static class NodeEnvelope
{
    private const int GuidBytes = 16;

    /// <summary>The length of a message envelope (<see cref="WriteMessage"/>).</summary>
    public static int MessageLength(byte[] originNode, int messageLength) => 1 + GuidBytes + 1 + originNode.Length + messageLength;

    /// <summary>M: peer (16) | origin node length (1) | origin node | message. Writes a message envelope into <paramref name="buffer"/>, <see cref="MessageLength"/> bytes long.</summary>
    public static void WriteMessage(Span<byte> buffer, Guid peer, byte[] originNode, ReadOnlySpan<byte> message)
    {
        buffer[0] = (byte)EnvelopeKind.Message;
        peer.TryWriteBytes(buffer.Slice(1, GuidBytes));
        buffer[1 + GuidBytes] = (byte)originNode.Length;
        originNode.CopyTo(buffer[(2 + GuidBytes)..]);
        message.CopyTo(buffer[(2 + GuidBytes + originNode.Length)..]);
    }

    /// <summary>E: target (16) | message.</summary>
    public static byte[] Echo(Guid target, ReadOnlySpan<byte> message)
    {
        var buffer = new byte[1 + GuidBytes + message.Length];
        buffer[0] = (byte)EnvelopeKind.Echo;
        target.TryWriteBytes(buffer.AsSpan(1, GuidBytes));
        message.CopyTo(buffer.AsSpan(1 + GuidBytes));
        return buffer;
    }

    /// <summary>K: uuid (16) | connection id (8; 0: whichever holds it) | request id (8) | code (2) | reply node length (1) | reply node | reason.</summary>
    public static byte[] Close(Guid uuid, long connectionId, long requestId, int code, byte[] replyNode, string reason)
    {
        var reasonBytes = Encoding.UTF8.GetBytes(reason);
        var buffer = new byte[1 + GuidBytes + 8 + 8 + 2 + 1 + replyNode.Length + reasonBytes.Length];
        buffer[0] = (byte)EnvelopeKind.Close;
        uuid.TryWriteBytes(buffer.AsSpan(1, GuidBytes));
        BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(1 + GuidBytes), connectionId);
        BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(9 + GuidBytes), requestId);
        BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(17 + GuidBytes), (ushort)code);
        buffer[19 + GuidBytes] = (byte)replyNode.Length;
        replyNode.CopyTo(buffer.AsSpan(20 + GuidBytes));
        reasonBytes.CopyTo(buffer.AsSpan(20 + GuidBytes + replyNode.Length));
        return buffer;
    }

    /// <summary>A: request id (8) | closed (1).</summary>
    public static byte[] Ack(long requestId, bool closed)
    {
        var buffer = new byte[1 + 8 + 1];
        buffer[0] = (byte)EnvelopeKind.Ack;
        BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(1), requestId);
        buffer[9] = closed ? (byte)1 : (byte)0;
        return buffer;
    }

    public static bool TryReadMessage(ReadOnlySpan<byte> envelope, out Guid peer, out ReadOnlySpan<byte> originNode, out ReadOnlySpan<byte> message)
    {
        peer = default;
        originNode = message = default;
        if (envelope.Length < 2 + GuidBytes || envelope.Length < 2 + GuidBytes + envelope[1 + GuidBytes])
        {
            return false;
        }

        peer = new Guid(envelope.Slice(1, GuidBytes));
        var nodeLength = envelope[1 + GuidBytes];
        originNode = envelope.Slice(2 + GuidBytes, nodeLength);
        message = envelope[(2 + GuidBytes + nodeLength)..];
        return true;
    }

    public static bool TryReadEcho(ReadOnlySpan<byte> envelope, out Guid target, out ReadOnlySpan<byte> message)
    {
        target = default;
        message = default;
        if (envelope.Length < 1 + GuidBytes)
        {
            return false;
        }

        target = new Guid(envelope.Slice(1, GuidBytes));
        message = envelope[(1 + GuidBytes)..];
        return true;
    }

    public static bool TryReadClose(
        ReadOnlySpan<byte> envelope, out Guid uuid, out long connectionId, out long requestId, out int code, out ReadOnlySpan<byte> replyNode, out string reason)
    {
        uuid = default;
        connectionId = requestId = 0;
        code = 0;
        replyNode = default;
        reason = string.Empty;
        if (envelope.Length < 20 + GuidBytes || envelope.Length < 20 + GuidBytes + envelope[19 + GuidBytes])
        {
            return false;
        }

        uuid = new Guid(envelope.Slice(1, GuidBytes));
        connectionId = BinaryPrimitives.ReadInt64LittleEndian(envelope[(1 + GuidBytes)..]);
        requestId = BinaryPrimitives.ReadInt64LittleEndian(envelope[(9 + GuidBytes)..]);
        code = BinaryPrimitives.ReadUInt16LittleEndian(envelope[(17 + GuidBytes)..]);
        var nodeLength = envelope[19 + GuidBytes];
        replyNode = envelope.Slice(20 + GuidBytes, nodeLength);
        reason = Encoding.UTF8.GetString(envelope[(20 + GuidBytes + nodeLength)..]);
        return true;
    }

    public static bool TryReadAck(ReadOnlySpan<byte> envelope, out long requestId, out bool closed)
    {
        requestId = 0;
        closed = false;
        if (envelope.Length != 10)
        {
            return false;
        }

        requestId = BinaryPrimitives.ReadInt64LittleEndian(envelope[1..]);
        closed = envelope[9] != 0;
        return true;
    }
}
