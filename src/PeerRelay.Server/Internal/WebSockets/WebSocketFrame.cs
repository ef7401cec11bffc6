using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;

namespace PeerRelay.Server.Internal.WebSockets;

/// <summary>A WebSocket frame opcode (RFC 6455, 5.2).</summary>
internal enum WebSocketOpcode : byte
{
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
}

/// <summary>What <see cref="WebSocketFrame.TryReadHeader(ReadOnlySpan{byte}, out FrameHeader, out string)"/> found at the start of the buffer.</summary>
internal enum FrameHeaderStatus
{
    /// <summary>A whole header was read.</summary>
    Complete,

    /// <summary>The buffer ends inside the header.</summary>
    Incomplete,

    /// <summary>The header breaks RFC 6455 (close 1002); the reason says how.</summary>
    ProtocolError,
}

/// <summary>
/// The server side of RFC 6455 framing: reads client frame headers (which must be masked), unmasks payloads and
/// writes unmasked server frames. Stateless; <see cref="RelayConnection"/> keeps the per-message state.
/// </summary>
internal static class WebSocketFrame
{
    /// <summary>The largest header a server frame has: 2 bytes, 8 bytes of length, no mask.</summary>
    public const int MaxServerHeaderLength = 10;

    /// <summary>The largest header a client frame has: 2 bytes, 8 bytes of length, the 4-byte mask.</summary>
    public const int MaxClientHeaderLength = 14;

    /// <summary>Control frames carry at most 125 bytes (RFC 6455, 5.5).</summary>
    public const int MaxControlPayload = 125;

    private const string AcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    /// <summary>Reads a client frame header from the start of <paramref name="buffer"/>.</summary>
    /// <param name="buffer">The unread input.</param>
    /// <param name="header">The header, when complete.</param>
    /// <param name="problem">Why the header is refused, when it is.</param>
    /// <returns>Whether a whole, valid header was read.</returns>
    public static FrameHeaderStatus TryReadHeader(in ReadOnlySequence<byte> buffer, out FrameHeader header, out string problem)
    {
        var first = buffer.FirstSpan;
        if (first.Length >= MaxClientHeaderLength || first.Length == buffer.Length)
        {
            return TryReadHeader(first, out header, out problem);
        }

        // The header may go on in the next segments: its bytes, copied together.
        Span<byte> bytes = stackalloc byte[MaxClientHeaderLength];
        var available = (int)Math.Min(buffer.Length, MaxClientHeaderLength);
        buffer.Slice(0, available).CopyTo(bytes);
        return TryReadHeader(bytes[..available], out header, out problem);
    }

    /// <summary>Reads a client frame header from the start of <paramref name="bytes"/>.</summary>
    /// <param name="bytes">The unread input.</param>
    /// <param name="header">The header, when complete.</param>
    /// <param name="problem">Why the header is refused, when it is.</param>
    /// <returns>Whether a whole, valid header was read.</returns>
    public static FrameHeaderStatus TryReadHeader(ReadOnlySpan<byte> bytes, out FrameHeader header, out string problem)
    {
        if (bytes.Length < 2)
        {
            header = default;
            problem = string.Empty;
            return FrameHeaderStatus.Incomplete;
        }

        return Parse(bytes.Length > MaxClientHeaderLength ? bytes[..MaxClientHeaderLength] : bytes, out header, out problem);
    }

    private static FrameHeaderStatus Parse(ReadOnlySpan<byte> bytes, out FrameHeader header, out string problem)
    {
        header = default;
        problem = string.Empty;
        var b0 = bytes[0];
        var b1 = bytes[1];
        var fin = (b0 & 0x80) != 0;
        var opcode = (WebSocketOpcode)(b0 & 0x0F);
        if ((b0 & 0x70) != 0)
        {
            problem = "Reserved bits set without a negotiated extension.";
            return FrameHeaderStatus.ProtocolError;
        }

        if (opcode is not (WebSocketOpcode.Continuation or WebSocketOpcode.Text or WebSocketOpcode.Binary
            or WebSocketOpcode.Close or WebSocketOpcode.Ping or WebSocketOpcode.Pong))
        {
            problem = "Unknown opcode.";
            return FrameHeaderStatus.ProtocolError;
        }

        if ((b1 & 0x80) == 0)
        {
            problem = "Client frames must be masked.";
            return FrameHeaderStatus.ProtocolError;
        }

        long length = b1 & 0x7F;
        var offset = 2;
        if (length == 126)
        {
            if (bytes.Length < 4)
            {
                return FrameHeaderStatus.Incomplete;
            }

            length = BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]);
            offset = 4;
        }
        else if (length == 127)
        {
            if (bytes.Length < 10)
            {
                return FrameHeaderStatus.Incomplete;
            }

            var wide = BinaryPrimitives.ReadUInt64BigEndian(bytes[2..]);
            if (wide > long.MaxValue)
            {
                problem = "Frame length out of range.";
                return FrameHeaderStatus.ProtocolError;
            }

            length = (long)wide;
            offset = 10;
        }

        if (bytes.Length < offset + 4)
        {
            return FrameHeaderStatus.Incomplete;
        }

        if ((byte)opcode >= 0x8 && (!fin || length > MaxControlPayload))
        {
            problem = "Control frames must be whole and at most 125 bytes.";
            return FrameHeaderStatus.ProtocolError;
        }

        var mask = BinaryPrimitives.ReadUInt32LittleEndian(bytes[offset..]);
        header = new FrameHeader(fin, opcode, length, mask, offset + 4);
        return FrameHeaderStatus.Complete;
    }

    /// <summary>
    /// Copies <paramref name="source"/> into <paramref name="destination"/>, unmasking it. <paramref name="maskOffset"/>
    /// is how many payload bytes of this frame were unmasked before (the mask rotates with the position).
    /// </summary>
    public static void Unmask(in ReadOnlySequence<byte> source, Span<byte> destination, uint mask, long maskOffset)
    {
        var rotated = BitOperations.RotateRight(mask, (int)(maskOffset & 3) * 8);
        foreach (var segment in source)
        {
            var span = segment.Span;
            UnmaskSpan(span, destination, rotated);
            rotated = BitOperations.RotateRight(rotated, (span.Length & 3) * 8);
            destination = destination[span.Length..];
        }
    }

    /// <summary>Unmasks a whole frame's <paramref name="payload"/> where it is.</summary>
    public static void UnmaskInPlace(Span<byte> payload, uint mask) => UnmaskSpan(payload, payload, mask);

    private static void UnmaskSpan(ReadOnlySpan<byte> source, Span<byte> destination, uint mask)
    {
        var i = 0;
        if (source.Length >= 8)
        {
            var mask64 = ((ulong)mask << 32) | mask;
            var words = MemoryMarshal.Cast<byte, ulong>(source);
            var target = MemoryMarshal.Cast<byte, ulong>(destination);
            for (var w = 0; w < words.Length; w++)
            {
                target[w] = words[w] ^ mask64;
            }

            i = words.Length * 8;
        }

        Span<byte> maskBytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(maskBytes, mask);
        for (; i < source.Length; i++)
        {
            destination[i] = (byte)(source[i] ^ maskBytes[i & 3]);
        }
    }

    /// <summary>Writes a whole, unmasked server frame header; returns its length.</summary>
    public static int WriteHeader(Span<byte> destination, WebSocketOpcode opcode, int payloadLength)
    {
        destination[0] = (byte)(0x80 | (byte)opcode);
        if (payloadLength <= 125)
        {
            destination[1] = (byte)payloadLength;
            return 2;
        }

        if (payloadLength <= ushort.MaxValue)
        {
            destination[1] = 126;
            BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)payloadLength);
            return 4;
        }

        destination[1] = 127;
        BinaryPrimitives.WriteUInt64BigEndian(destination[2..], (ulong)payloadLength);
        return 10;
    }

    /// <summary>Writes a close frame's payload: the code, then the reason (at most 123 UTF-8 bytes); returns its length.</summary>
    public static int WriteClosePayload(Span<byte> destination, int code, string reason)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)code);
        return 2 + Encoding.UTF8.GetBytes(reason, destination[2..]);
    }

    /// <summary>
    /// Reads a client's close payload (RFC 6455, 5.5.1 and 7.4): empty, or a valid code and a UTF-8 reason.
    /// </summary>
    /// <returns>False when the payload is malformed (close 1002, or 1007 for a reason that is not UTF-8).</returns>
    public static bool TryReadClosePayload(ReadOnlySpan<byte> payload, out int code, out string reason, out int errorCode)
    {
        code = 1005; // No status received.
        reason = string.Empty;
        errorCode = 0;
        if (payload.Length == 0)
        {
            return true;
        }

        if (payload.Length == 1)
        {
            errorCode = 1002;
            return false;
        }

        code = BinaryPrimitives.ReadUInt16BigEndian(payload);
        if (!IsValidCloseCode(code))
        {
            errorCode = 1002;
            return false;
        }

        if (!System.Text.Unicode.Utf8.IsValid(payload[2..]))
        {
            errorCode = 1007;
            return false;
        }

        reason = Encoding.UTF8.GetString(payload[2..]);
        return true;
    }

    /// <summary>Codes a peer may send in a close frame (RFC 6455, 7.4.1; 1004–1006 and 1015 are never sent).</summary>
    public static bool IsValidCloseCode(int code) =>
        code is (>= 1000 and <= 1003) or (>= 1007 and <= 1014) or (>= 3000 and <= 4999);

    /// <summary>The length of <c>Sec-WebSocket-Accept</c>: 20 bytes of SHA-1 in base64.</summary>
    public const int AcceptLength = 28;

    /// <summary>Computes <c>Sec-WebSocket-Accept</c> for a client's <c>Sec-WebSocket-Key</c>.</summary>
    public static string ComputeAccept(string key)
    {
        Span<byte> accept = stackalloc byte[AcceptLength];
        WriteAccept(Encoding.ASCII.GetBytes(key), accept);
        return Encoding.ASCII.GetString(accept);
    }

    /// <summary>Writes <c>Sec-WebSocket-Accept</c> for <paramref name="key"/> as ASCII into <paramref name="destination"/>.</summary>
    public static void WriteAccept(ReadOnlySpan<byte> key, Span<byte> destination)
    {
        Span<byte> input = stackalloc byte[key.Length + AcceptGuid.Length];
        key.CopyTo(input);
        Encoding.ASCII.GetBytes(AcceptGuid, input[key.Length..]);
        Span<byte> hash = stackalloc byte[Sha1.HashLength];
        Sha1.HashData(input, hash);
        System.Buffers.Text.Base64.EncodeToUtf8(hash, destination, out _, out _);
    }
}

/// <summary>A client frame header.</summary>
/// <param name="Fin">Whether this is the last frame of the message.</param>
/// <param name="Opcode">The frame's opcode.</param>
/// <param name="PayloadLength">The payload's length in bytes.</param>
/// <param name="Mask">The masking key, as read little-endian.</param>
/// <param name="HeaderLength">The header's length in bytes.</param>
internal readonly record struct FrameHeader(bool Fin, WebSocketOpcode Opcode, long PayloadLength, uint Mask, int HeaderLength);
