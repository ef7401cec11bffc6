using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using PeerRelay.Server.Internal.WebSockets;

namespace PeerRelay.Server.Tests.WebSockets;

/// <summary>RFC 6455 framing on bytes: headers, masking, server headers, close payloads, the accept key.</summary>
public sealed class WebSocketFrameTests
{
    [Fact]
    public void ComputeAccept_Rfc6455Example_MatchesTheSpec()
    {
        // RFC 6455, 1.3 (checked independently: base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))).
        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", WebSocketFrame.ComputeAccept("dGhlIHNhbXBsZSBub25jZQ=="));
    }

    [Fact]
    public void WriteAccept_Rfc6455Example_WritesAsciiOfTheAcceptLength()
    {
        var destination = new byte[WebSocketFrame.AcceptLength];
        WebSocketFrame.WriteAccept("dGhlIHNhbXBsZSBub25jZQ=="u8, destination);
        Assert.Equal("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", Encoding.ASCII.GetString(destination));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(125)]
    public void TryReadHeader_SevenBitLength_ReadsSixByteHeader(int length)
    {
        var bytes = ClientFrame.Header((byte)WebSocketOpcode.Text, length);
        var status = WebSocketFrame.TryReadHeader(new ReadOnlySequence<byte>(bytes), out var header, out var problem);
        Assert.Equal(FrameHeaderStatus.Complete, status);
        Assert.Equal(string.Empty, problem);
        Assert.Equal(new FrameHeader(true, WebSocketOpcode.Text, length, BinaryPrimitives.ReadUInt32LittleEndian(ClientFrame.DefaultMask), 6), header);
    }

    [Theory]
    [InlineData(126)]
    [InlineData(1000)]
    [InlineData(65535)]
    public void TryReadHeader_SixteenBitLength_ReadsEightByteHeader(int length)
    {
        var bytes = ClientFrame.Header((byte)WebSocketOpcode.Binary, length, fin: false);
        Assert.Equal(126, bytes[1] & 0x7F);
        var status = WebSocketFrame.TryReadHeader(new ReadOnlySequence<byte>(bytes), out var header, out _);
        Assert.Equal(FrameHeaderStatus.Complete, status);
        Assert.Equal(new FrameHeader(false, WebSocketOpcode.Binary, length, BinaryPrimitives.ReadUInt32LittleEndian(ClientFrame.DefaultMask), 8), header);
    }

    [Theory]
    [InlineData(65536L)]
    [InlineData(1L << 33)]
    [InlineData(long.MaxValue)]
    public void TryReadHeader_SixtyFourBitLength_ReadsFourteenByteHeader(long length)
    {
        var bytes = ClientFrame.Header((byte)WebSocketOpcode.Continuation, length);
        Assert.Equal(127, bytes[1] & 0x7F);
        var status = WebSocketFrame.TryReadHeader(new ReadOnlySequence<byte>(bytes), out var header, out _);
        Assert.Equal(FrameHeaderStatus.Complete, status);
        Assert.Equal(new FrameHeader(true, WebSocketOpcode.Continuation, length, BinaryPrimitives.ReadUInt32LittleEndian(ClientFrame.DefaultMask), 14), header);
    }

    [Fact]
    public void TryReadHeader_SixtyFourBitLengthWithHighBit_IsProtocolError()
    {
        // RFC 6455, 5.2: "the most significant bit MUST be 0".
        var bytes = ClientFrame.Header((byte)WebSocketOpcode.Text, 65536);
        bytes[2] |= 0x80;
        Assert.Equal(FrameHeaderStatus.ProtocolError, WebSocketFrame.TryReadHeader(new ReadOnlySequence<byte>(bytes), out _, out var problem));
        Assert.NotEqual(string.Empty, problem);
    }

    [Theory]
    [InlineData(5L)]
    [InlineData(300L)]
    [InlineData(70000L)]
    public void TryReadHeader_EveryProperPrefix_IsIncomplete(long length)
    {
        var bytes = ClientFrame.Header((byte)WebSocketOpcode.Text, length);
        for (var take = 0; take < bytes.Length; take++)
        {
            var status = WebSocketFrame.TryReadHeader(new ReadOnlySequence<byte>(bytes, 0, take), out _, out _);
            Assert.True(status == FrameHeaderStatus.Incomplete, $"{take} of {bytes.Length} header bytes gave {status}");
        }
    }

    [Fact]
    public void TryReadHeader_HeaderSplitOverSegments_ReadsTheSameHeader()
    {
        var bytes = ClientFrame.Concat(ClientFrame.Header((byte)WebSocketOpcode.Text, 70000), [1, 2, 3]);
        var status = WebSocketFrame.TryReadHeader(Segments.Split(bytes, 1, 2, 1, 5, 3), out var header, out _);
        Assert.Equal(FrameHeaderStatus.Complete, status);
        Assert.Equal(new FrameHeader(true, WebSocketOpcode.Text, 70000, BinaryPrimitives.ReadUInt32LittleEndian(ClientFrame.DefaultMask), 14), header);
    }

    [Fact]
    public void TryReadHeader_UnmaskedClientFrame_IsProtocolError()
    {
        var bytes = ClientFrame.Build((byte)WebSocketOpcode.Text, "hi"u8, masked: false);
        Assert.Equal(FrameHeaderStatus.ProtocolError, WebSocketFrame.TryReadHeader(new ReadOnlySequence<byte>(bytes), out _, out var problem));
        Assert.Contains("mask", problem, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(7)]
    public void TryReadHeader_ReservedBits_AreProtocolError(byte rsv)
    {
        var bytes = ClientFrame.Build((byte)WebSocketOpcode.Text, "hi"u8, rsv: rsv);
        Assert.Equal(FrameHeaderStatus.ProtocolError, WebSocketFrame.TryReadHeader(new ReadOnlySequence<byte>(bytes), out _, out var problem));
        Assert.NotEqual(string.Empty, problem);
    }

    [Theory]
    [InlineData(0x3)]
    [InlineData(0x7)]
    [InlineData(0xB)]
    [InlineData(0xF)]
    public void TryReadHeader_UnknownOpcode_IsProtocolError(byte opcode)
    {
        var bytes = ClientFrame.Build(opcode, "hi"u8);
        Assert.Equal(FrameHeaderStatus.ProtocolError, WebSocketFrame.TryReadHeader(new ReadOnlySequence<byte>(bytes), out _, out var problem));
        Assert.NotEqual(string.Empty, problem);
    }

    // Opcodes are passed as bytes: WebSocketOpcode is internal and a public test method cannot take it.
    [Theory]
    [InlineData(0x8)] // Close.
    [InlineData(0x9)] // Ping.
    [InlineData(0xA)] // Pong.
    public void TryReadHeader_FragmentedControlFrame_IsProtocolError(byte opcode)
    {
        var bytes = ClientFrame.Build(opcode, [3, 232], fin: false);
        Assert.Equal(FrameHeaderStatus.ProtocolError, WebSocketFrame.TryReadHeader(new ReadOnlySequence<byte>(bytes), out _, out _));
    }

    [Theory]
    [InlineData(0x9, 126)]
    [InlineData(0x8, 126)]
    [InlineData(0xA, 70000)]
    public void TryReadHeader_OversizedControlFrame_IsProtocolError(byte opcode, long length)
    {
        var bytes = ClientFrame.Header(opcode, length);
        Assert.Equal(FrameHeaderStatus.ProtocolError, WebSocketFrame.TryReadHeader(new ReadOnlySequence<byte>(bytes), out _, out _));
    }

    [Fact]
    public void TryReadHeader_ControlFrameOfExactly125Bytes_IsComplete()
    {
        var bytes = ClientFrame.Header((byte)WebSocketOpcode.Ping, WebSocketFrame.MaxControlPayload);
        Assert.Equal(FrameHeaderStatus.Complete, WebSocketFrame.TryReadHeader(new ReadOnlySequence<byte>(bytes), out var header, out _));
        Assert.Equal(125, header.PayloadLength);
    }

    public static TheoryData<int[], long> UnmaskCases => new()
    {
        // Segment lengths (odd, below and above the 8-byte word path, one empty), mask offset.
        { [37], 0 },
        { [3, 9, 1, 13, 11], 0 },
        { [3, 9, 1, 13, 11], 1 },
        { [3, 9, 1, 13, 11], 2 },
        { [3, 9, 1, 13, 11], 3 },
        { [5, 0, 7, 17, 1, 1, 6], 6 },
        { [1, 1, 1, 1, 1, 1, 1, 1, 1], 4099 },
        { [8, 16, 24], 1 },
    };

    [Theory]
    [MemberData(nameof(UnmaskCases))]
    public void Unmask_MultiSegmentWithOffset_EqualsBytewiseXor(int[] segmentLengths, long maskOffset)
    {
        var random = new Random(6455);
        var masked = new byte[segmentLengths.Sum()];
        random.NextBytes(masked);
        byte[] key = [0x12, 0x34, 0xA5, 0xF0];
        var expected = new byte[masked.Length];
        for (var i = 0; i < masked.Length; i++)
        {
            expected[i] = (byte)(masked[i] ^ key[(maskOffset + i) % 4]);
        }

        var destination = new byte[masked.Length + 8];
        WebSocketFrame.Unmask(Segments.Split(masked, segmentLengths[..^1]), destination, BinaryPrimitives.ReadUInt32LittleEndian(key), maskOffset);
        Assert.Equal(expected, destination[..masked.Length]);
        Assert.All(destination[masked.Length..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void Unmask_FrameUnmaskedInPieces_EqualsFrameUnmaskedAtOnce()
    {
        // How FrameReader unmasks a payload that arrives over several reads: the offset is what was unmasked before.
        var payload = Encoding.UTF8.GetBytes("The quick brown fox jumps over the lazy dog, 0123456789.");
        var frame = ClientFrame.Build((byte)WebSocketOpcode.Text, payload);
        var body = frame[6..];
        var mask = BinaryPrimitives.ReadUInt32LittleEndian(ClientFrame.DefaultMask);
        var destination = new byte[payload.Length];
        var offset = 0;
        foreach (var piece in new[] { 3, 10, 1, 22, 5 })
        {
            WebSocketFrame.Unmask(new ReadOnlySequence<byte>(body, offset, piece), destination.AsSpan(offset), mask, offset);
            offset += piece;
        }

        WebSocketFrame.Unmask(new ReadOnlySequence<byte>(body, offset, body.Length - offset), destination.AsSpan(offset), mask, offset);
        Assert.Equal(payload, destination);
    }

    [Theory]
    [InlineData(0, 2)]
    [InlineData(125, 2)]
    [InlineData(126, 4)]
    [InlineData(65535, 4)]
    [InlineData(65536, 10)]
    [InlineData(int.MaxValue, 10)]
    public void WriteHeader_Length_UsesShortestEncoding(int length, int expectedHeaderLength)
    {
        var destination = new byte[WebSocketFrame.MaxServerHeaderLength];
        var written = WebSocketFrame.WriteHeader(destination, WebSocketOpcode.Text, length);
        Assert.Equal(expectedHeaderLength, written);
        Assert.Equal(0x81, destination[0]); // FIN and text.
        Assert.Equal(0, destination[1] & 0x80); // Server frames are not masked.
        long declared = expectedHeaderLength switch
        {
            2 => destination[1],
            4 => BinaryPrimitives.ReadUInt16BigEndian(destination.AsSpan(2)),
            _ => (long)BinaryPrimitives.ReadUInt64BigEndian(destination.AsSpan(2)),
        };
        Assert.Equal(length, declared);
        Assert.Equal(expectedHeaderLength switch { 2 => length, 4 => 126, _ => 127 }, destination[1]);
    }

    [Theory]
    [InlineData(0x2, 0x82)]
    [InlineData(0x8, 0x88)]
    [InlineData(0x9, 0x89)]
    [InlineData(0xA, 0x8A)]
    public void WriteHeader_Opcode_IsInTheFirstByteWithFin(byte opcode, byte first)
    {
        var destination = new byte[WebSocketFrame.MaxServerHeaderLength];
        Assert.Equal(2, WebSocketFrame.WriteHeader(destination, (WebSocketOpcode)opcode, 2));
        Assert.Equal(first, destination[0]);
        Assert.Equal(2, destination[1]);
    }

    [Fact]
    public void WriteClosePayload_CodeAndReason_BigEndianCodeThenUtf8()
    {
        var destination = new byte[WebSocketFrame.MaxControlPayload];
        var written = WebSocketFrame.WriteClosePayload(destination, 4003, "zu groß");
        byte[] expected = [0x0F, 0xA3, .. Encoding.UTF8.GetBytes("zu groß")];
        Assert.Equal(expected, destination[..written]);
    }

    [Fact]
    public void TryReadClosePayload_Empty_Is1005()
    {
        Assert.True(WebSocketFrame.TryReadClosePayload([], out var code, out var reason, out var error));
        Assert.Equal(1005, code);
        Assert.Equal(string.Empty, reason);
        Assert.Equal(0, error);
    }

    [Fact]
    public void TryReadClosePayload_OneByte_Is1002()
    {
        Assert.False(WebSocketFrame.TryReadClosePayload([0x03], out _, out _, out var error));
        Assert.Equal(1002, error);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(999)]
    [InlineData(1004)]
    [InlineData(1005)]
    [InlineData(1006)]
    [InlineData(1015)]
    [InlineData(1016)]
    [InlineData(2000)]
    [InlineData(2999)]
    [InlineData(5000)]
    [InlineData(65535)]
    public void TryReadClosePayload_InvalidCode_Is1002(int code)
    {
        var payload = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)code);
        Assert.False(WebSocketFrame.TryReadClosePayload(payload, out _, out _, out var error));
        Assert.Equal(1002, error);
    }

    [Theory]
    [InlineData(new byte[] { 0xC3, 0x28 })] // A bad continuation byte.
    [InlineData(new byte[] { 0xE2, 0x82 })] // Truncated.
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })] // A UTF-16 surrogate.
    [InlineData(new byte[] { 0xC0, 0xAF })] // Overlong.
    public void TryReadClosePayload_InvalidUtf8Reason_Is1007(byte[] reason)
    {
        byte[] payload = [0x03, 0xE8, .. reason];
        Assert.False(WebSocketFrame.TryReadClosePayload(payload, out _, out _, out var error));
        Assert.Equal(1007, error);
    }

    [Fact]
    public void TryReadClosePayload_1000WithReason_ReadsBoth()
    {
        byte[] payload = [0x03, 0xE8, .. Encoding.UTF8.GetBytes("bye 👋")];
        Assert.True(WebSocketFrame.TryReadClosePayload(payload, out var code, out var reason, out var error));
        Assert.Equal(1000, code);
        Assert.Equal("bye 👋", reason);
        Assert.Equal(0, error);
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(1001)]
    [InlineData(1003)]
    [InlineData(1007)]
    [InlineData(1011)]
    [InlineData(1014)]
    [InlineData(3000)]
    [InlineData(4999)]
    public void TryReadClosePayload_WrittenByWriteClosePayload_RoundTrips(int code)
    {
        var buffer = new byte[WebSocketFrame.MaxControlPayload];
        var length = WebSocketFrame.WriteClosePayload(buffer, code, "reason");
        Assert.True(WebSocketFrame.TryReadClosePayload(buffer.AsSpan(0, length), out var read, out var reason, out _));
        Assert.Equal(code, read);
        Assert.Equal("reason", reason);
    }

    [Theory]
    [InlineData(999, false)]
    [InlineData(1000, true)]
    [InlineData(1002, true)]
    [InlineData(1003, true)]
    [InlineData(1004, false)]
    [InlineData(1005, false)]
    [InlineData(1006, false)]
    [InlineData(1007, true)]
    [InlineData(1014, true)]
    [InlineData(1015, false)]
    [InlineData(2999, false)]
    [InlineData(3000, true)]
    [InlineData(4999, true)]
    [InlineData(5000, false)]
    public void IsValidCloseCode_FollowsRfc6455Section7_4_1(int code, bool valid) =>
        Assert.Equal(valid, WebSocketFrame.IsValidCloseCode(code));
}
