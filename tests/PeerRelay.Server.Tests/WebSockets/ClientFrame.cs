using System.Buffers.Binary;
using System.Text;
using PeerRelay.Server.Internal.WebSockets;

namespace PeerRelay.Server.Tests.WebSockets;

/// <summary>
/// Builds client frames byte by byte from RFC 6455, 5.2, independently of the code under test: any opcode (also
/// unknown ones), reserved bits, the mask bit, and the length in its shortest encoding.
/// </summary>
internal static class ClientFrame
{
    /// <summary>A masking key whose four bytes differ, so that a mask applied at the wrong position shows.</summary>
    public static readonly byte[] DefaultMask = [0x37, 0xFA, 0x21, 0x3D];

    /// <summary>Builds a header only: the first two bytes, the length (7, 16 or 64 bits) and the masking key.</summary>
    public static byte[] Header(byte opcode, long payloadLength, bool fin = true, bool masked = true, byte rsv = 0, byte[]? mask = null)
    {
        var lengthBytes = payloadLength <= 125 ? 0 : payloadLength <= ushort.MaxValue ? 2 : 8;
        var header = new byte[2 + lengthBytes + (masked ? 4 : 0)];
        header[0] = (byte)((fin ? 0x80 : 0) | ((rsv & 0x7) << 4) | (opcode & 0xF));
        var maskBit = masked ? 0x80 : 0;
        switch (lengthBytes)
        {
            case 0:
                header[1] = (byte)(maskBit | (int)payloadLength);
                break;
            case 2:
                header[1] = (byte)(maskBit | 126);
                BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), (ushort)payloadLength);
                break;
            default:
                header[1] = (byte)(maskBit | 127);
                BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(2), (ulong)payloadLength);
                break;
        }

        if (masked)
        {
            (mask ?? DefaultMask).CopyTo(header, 2 + lengthBytes);
        }

        return header;
    }

    /// <summary>Builds a whole frame: <see cref="Header"/>, then the payload XORed with the masking key.</summary>
    public static byte[] Build(byte opcode, ReadOnlySpan<byte> payload, bool fin = true, bool masked = true, byte rsv = 0, byte[]? mask = null)
    {
        mask ??= DefaultMask;
        var header = Header(opcode, payload.Length, fin, masked, rsv, mask);
        var frame = new byte[header.Length + payload.Length];
        header.CopyTo(frame, 0);
        for (var i = 0; i < payload.Length; i++)
        {
            frame[header.Length + i] = masked ? (byte)(payload[i] ^ mask[i % 4]) : payload[i];
        }

        return frame;
    }

    public static byte[] Build(WebSocketOpcode opcode, ReadOnlySpan<byte> payload, bool fin = true, byte[]? mask = null) =>
        Build((byte)opcode, payload, fin, mask: mask);

    public static byte[] Text(string text, bool fin = true, byte[]? mask = null) =>
        Build(WebSocketOpcode.Text, Encoding.UTF8.GetBytes(text), fin, mask);

    public static byte[] Continuation(string text, bool fin = true, byte[]? mask = null) =>
        Build(WebSocketOpcode.Continuation, Encoding.UTF8.GetBytes(text), fin, mask);

    /// <summary>Concatenates frames into one input buffer.</summary>
    public static byte[] Concat(params byte[][] frames) => [.. frames.SelectMany(f => f)];
}
