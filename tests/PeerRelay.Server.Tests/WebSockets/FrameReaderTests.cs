using System.Buffers;
using System.Text;
using PeerRelay.Server.Internal.WebSockets;

namespace PeerRelay.Server.Tests.WebSockets;

/// <summary>
/// The receive loop's frame reader on bytes: reassembly, interleaved control frames, input in pieces, the size limit
/// read from headers, UTF-8 and sequencing errors. The reader is a mutable struct, so each test keeps it in a local.
/// </summary>
public sealed class FrameReaderTests
{
    private const int Limit = 64 * 1024;

    [Fact]
    public void Next_SingleTextFrame_IsOneMessageAndConsumesIt()
    {
        var reader = new FrameReader(Limit);
        try
        {
            var buffer = new ReadOnlySequence<byte>(ClientFrame.Text("hello"));
            Assert.Equal(FrameStep.Message, reader.Next(ref buffer));
            Assert.Equal(WebSocketOpcode.Text, reader.MessageOpcode);
            Assert.Equal("hello", MessageText(reader));
            Assert.True(buffer.IsEmpty);
            reader.ResetMessage();
            Assert.Equal(FrameStep.NeedMore, reader.Next(ref buffer));
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void Next_EmptyTextFrame_IsAnEmptyMessage()
    {
        var reader = new FrameReader(Limit);
        try
        {
            var buffer = new ReadOnlySequence<byte>(ClientFrame.Text(string.Empty));
            Assert.Equal(FrameStep.Message, reader.Next(ref buffer));
            Assert.Equal(0, reader.MessageLength);
            Assert.True(buffer.IsEmpty);
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void Next_ThreeFragmentsWithPingBetween_DeliversPingThenWholeMessage()
    {
        var input = ClientFrame.Concat(
            ClientFrame.Text("Hello", fin: false, mask: [1, 2, 3, 4]),
            ClientFrame.Build(WebSocketOpcode.Ping, "are you there"u8, mask: [9, 8, 7, 6]),
            ClientFrame.Continuation(", wide ", fin: false, mask: [0xAA, 0xBB, 0xCC, 0xDD]),
            ClientFrame.Continuation("world", mask: [0x10, 0x20, 0x30, 0x40]));
        var reader = new FrameReader(Limit);
        try
        {
            var buffer = new ReadOnlySequence<byte>(input);
            Assert.Equal(FrameStep.Control, reader.Next(ref buffer));
            Assert.Equal(WebSocketOpcode.Ping, reader.ControlOpcode);
            Assert.Equal("are you there", Encoding.UTF8.GetString(reader.ControlPayload));
            reader.ReleaseControl();

            Assert.Equal(FrameStep.Message, reader.Next(ref buffer));
            Assert.Equal(WebSocketOpcode.Text, reader.MessageOpcode);
            Assert.Equal("Hello, wide world", MessageText(reader));
            Assert.True(buffer.IsEmpty);
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void Next_InputArrivingOneByteAtATime_GivesTheSameSteps()
    {
        // Two messages and a ping, fed one byte per read. As the receive loop does, what Next did not consume stays at
        // the front of the next read. The second message is fragmented, with a 16-bit length and a character of two
        // bytes split between its frames.
        var large = new string('x', 300);
        var e = Encoding.UTF8.GetBytes("é");
        var input = ClientFrame.Concat(
            ClientFrame.Text("first"),
            ClientFrame.Build(WebSocketOpcode.Ping, "p"u8),
            ClientFrame.Build(WebSocketOpcode.Text, [.. Encoding.UTF8.GetBytes(large), e[0]], fin: false, mask: [5, 6, 7, 8]),
            ClientFrame.Build(WebSocketOpcode.Continuation, [e[1], .. "!"u8]));
        var steps = new List<string>();
        var reader = new FrameReader(Limit);
        try
        {
            var pending = Array.Empty<byte>();
            foreach (var b in input)
            {
                byte[] read = [.. pending, b];
                var buffer = new ReadOnlySequence<byte>(read);
                while (true)
                {
                    var step = reader.Next(ref buffer);
                    if (step == FrameStep.NeedMore)
                    {
                        break;
                    }

                    if (step == FrameStep.Message)
                    {
                        steps.Add("message " + MessageText(reader));
                        reader.ResetMessage();
                    }
                    else if (step == FrameStep.Control)
                    {
                        steps.Add($"{reader.ControlOpcode} {Encoding.UTF8.GetString(reader.ControlPayload)}");
                        reader.ReleaseControl();
                    }
                    else
                    {
                        Assert.Fail($"{step}: {reader.ErrorCode} {reader.Problem}");
                    }
                }

                pending = buffer.ToArray();
            }

            Assert.Equal(new[] { "message first", "Ping p", $"message {large}é!" }, steps);
            Assert.Empty(pending);
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void Next_FramesOverManySegments_AreReassembled()
    {
        var payload = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 100).Select(i => i.ToString("D3"))));
        var input = ClientFrame.Concat(
            ClientFrame.Build(WebSocketOpcode.Text, payload.AsSpan(0, 123), fin: false),
            ClientFrame.Build(WebSocketOpcode.Continuation, payload.AsSpan(123)));
        var reader = new FrameReader(Limit);
        try
        {
            var buffer = Segments.Split(input, 1, 3, 7, 2, 13, 100, 5, 9);
            Assert.Equal(FrameStep.Message, reader.Next(ref buffer));
            Assert.Equal(payload, reader.Message.AsSpan(reader.MessageOffset, reader.MessageLength).ToArray());
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void Next_FragmentsOutgrowingTheFirstBuffer_KeepEarlierBytes()
    {
        // The first fragment fits the first (pooled) buffer; the second makes the reader move to a bigger one.
        var first = new string('a', 200);
        var second = new string('b', 5000);
        var input = ClientFrame.Concat(ClientFrame.Text(first, fin: false), ClientFrame.Continuation(second));
        var reader = new FrameReader(Limit);
        try
        {
            var buffer = new ReadOnlySequence<byte>(input);
            Assert.Equal(FrameStep.Message, reader.Next(ref buffer));
            Assert.Equal(first + second, MessageText(reader));
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void Next_ControlFrameNotWhollyIn_NeedsMoreAndConsumesNothing()
    {
        var ping = ClientFrame.Build(WebSocketOpcode.Ping, "12345"u8);
        var reader = new FrameReader(Limit);
        try
        {
            var buffer = new ReadOnlySequence<byte>(ping, 0, ping.Length - 1);
            Assert.Equal(FrameStep.NeedMore, reader.Next(ref buffer));
            Assert.Equal(ping.Length - 1, buffer.Length);

            buffer = new ReadOnlySequence<byte>(ping);
            Assert.Equal(FrameStep.Control, reader.Next(ref buffer));
            Assert.Equal("12345", Encoding.UTF8.GetString(reader.ControlPayload));
            Assert.True(buffer.IsEmpty);
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void Next_CloseFrame_IsControlWithItsPayload()
    {
        var reader = new FrameReader(Limit);
        try
        {
            var buffer = new ReadOnlySequence<byte>(ClientFrame.Build(WebSocketOpcode.Close, [0x03, 0xE8, .. "bye"u8]));
            Assert.Equal(FrameStep.Control, reader.Next(ref buffer));
            Assert.Equal(WebSocketOpcode.Close, reader.ControlOpcode);
            Assert.Equal(new byte[] { 0x03, 0xE8, (byte)'b', (byte)'y', (byte)'e' }, reader.ControlPayload.ToArray());
            reader.ReleaseControl();
            Assert.Equal(0, reader.ControlPayload.Length);
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void Next_ContinuationWithoutAStart_IsError1002()
    {
        var reader = new FrameReader(Limit);
        try
        {
            var buffer = new ReadOnlySequence<byte>(ClientFrame.Continuation("orphan"));
            Assert.Equal(FrameStep.Error, reader.Next(ref buffer));
            Assert.Equal(1002, reader.ErrorCode);
            Assert.NotEqual(string.Empty, reader.Problem);
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Theory]
    [InlineData(0x1)] // Text; WebSocketOpcode is internal, so the public test takes a byte.
    [InlineData(0x2)] // Binary.
    public void Next_NewDataFrameInsideAFragmentedMessage_IsError1002(byte second)
    {
        var input = ClientFrame.Concat(ClientFrame.Text("part one", fin: false), ClientFrame.Build(second, "part two"u8));
        var reader = new FrameReader(Limit);
        try
        {
            var buffer = new ReadOnlySequence<byte>(input);
            Assert.Equal(FrameStep.Error, reader.Next(ref buffer));
            Assert.Equal(1002, reader.ErrorCode);
            Assert.NotEqual(string.Empty, reader.Problem);
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void Next_HeaderProtocolError_IsError1002()
    {
        var reader = new FrameReader(Limit);
        try
        {
            var buffer = new ReadOnlySequence<byte>(ClientFrame.Build((byte)WebSocketOpcode.Text, "hi"u8, masked: false));
            Assert.Equal(FrameStep.Error, reader.Next(ref buffer));
            Assert.Equal(1002, reader.ErrorCode);
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void Next_MessageOverTheLimit_IsTooLargeFromTheHeaderAlone()
    {
        // Only the header is in: the payload never needs to arrive for the refusal.
        var reader = new FrameReader(100);
        try
        {
            var buffer = new ReadOnlySequence<byte>(ClientFrame.Header((byte)WebSocketOpcode.Text, 101));
            Assert.Equal(FrameStep.TooLarge, reader.Next(ref buffer));
            Assert.Equal(101, reader.MessageSize);
            Assert.Equal(100, reader.Limit);
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void Next_HugeDeclaredLength_IsTooLargeWithThatSize()
    {
        var reader = new FrameReader(Limit);
        try
        {
            var buffer = new ReadOnlySequence<byte>(ClientFrame.Header((byte)WebSocketOpcode.Binary, 1L << 40));
            Assert.Equal(FrameStep.TooLarge, reader.Next(ref buffer));
            Assert.Equal(1L << 40, reader.MessageSize);
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void Next_FragmentsAddingUpOverTheLimit_IsTooLargeWithTheTotal()
    {
        var input = ClientFrame.Concat(
            ClientFrame.Text(new string('a', 60), fin: false),
            ClientFrame.Header((byte)WebSocketOpcode.Continuation, 41));
        var reader = new FrameReader(100);
        try
        {
            var buffer = new ReadOnlySequence<byte>(input);
            Assert.Equal(FrameStep.TooLarge, reader.Next(ref buffer));
            Assert.Equal(101, reader.MessageSize);
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void Next_MessageOfExactlyTheLimit_IsAccepted()
    {
        var input = ClientFrame.Concat(ClientFrame.Text(new string('a', 60), fin: false), ClientFrame.Continuation(new string('b', 40)));
        var reader = new FrameReader(100);
        try
        {
            var buffer = new ReadOnlySequence<byte>(input);
            Assert.Equal(FrameStep.Message, reader.Next(ref buffer));
            Assert.Equal(100, reader.MessageLength);
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void Next_InvalidUtf8Text_IsError1007()
    {
        var reader = new FrameReader(Limit);
        try
        {
            var buffer = new ReadOnlySequence<byte>(ClientFrame.Build(WebSocketOpcode.Text, [(byte)'o', (byte)'k', 0xC3, 0x28]));
            Assert.Equal(FrameStep.Error, reader.Next(ref buffer));
            Assert.Equal(1007, reader.ErrorCode);
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void Next_TextEndingInsideACharacter_IsError1007()
    {
        var euro = Encoding.UTF8.GetBytes("€");
        var reader = new FrameReader(Limit);
        try
        {
            var buffer = new ReadOnlySequence<byte>(ClientFrame.Build(WebSocketOpcode.Text, euro.AsSpan(0, 2)));
            Assert.Equal(FrameStep.Error, reader.Next(ref buffer));
            Assert.Equal(1007, reader.ErrorCode);
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void Next_BinaryMessage_HasBinaryOpcodeAndAnyBytes()
    {
        byte[] payload = [0x00, 0xFF, 0xC3, 0x28, 0x80];
        var reader = new FrameReader(Limit);
        try
        {
            var buffer = new ReadOnlySequence<byte>(ClientFrame.Build(WebSocketOpcode.Binary, payload));
            Assert.Equal(FrameStep.Message, reader.Next(ref buffer));
            Assert.Equal(WebSocketOpcode.Binary, reader.MessageOpcode);
            Assert.Equal(payload, reader.Message.AsSpan(reader.MessageOffset, reader.MessageLength).ToArray());
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void ResetMessage_ThenAnotherMessage_ReadsOnlyTheNewOne()
    {
        var input = ClientFrame.Concat(
            ClientFrame.Text(new string('L', 1000)),
            ClientFrame.Build(WebSocketOpcode.Binary, "short"u8),
            ClientFrame.Text("third", fin: false),
            ClientFrame.Continuation(" one"));
        var reader = new FrameReader(Limit);
        try
        {
            var buffer = new ReadOnlySequence<byte>(input);
            Assert.Equal(FrameStep.Message, reader.Next(ref buffer));
            Assert.Equal(1000, reader.MessageLength);
            reader.ResetMessage();
            Assert.Equal(0, reader.MessageLength);
            Assert.Empty(reader.Message);

            Assert.Equal(FrameStep.Message, reader.Next(ref buffer));
            Assert.Equal(WebSocketOpcode.Binary, reader.MessageOpcode);
            Assert.Equal("short", MessageText(reader));
            reader.ResetMessage();

            Assert.Equal(FrameStep.Message, reader.Next(ref buffer));
            Assert.Equal(WebSocketOpcode.Text, reader.MessageOpcode);
            Assert.Equal("third one", MessageText(reader));
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void Next_SecondMessageWithoutResetMessage_IsError1002()
    {
        // The message stays current until ResetMessage: a new text frame before that is a sequencing error.
        var input = ClientFrame.Concat(ClientFrame.Text("one"), ClientFrame.Text("two"));
        var reader = new FrameReader(Limit);
        try
        {
            var buffer = new ReadOnlySequence<byte>(input);
            Assert.Equal(FrameStep.Message, reader.Next(ref buffer));
            Assert.Equal(FrameStep.Error, reader.Next(ref buffer));
            Assert.Equal(1002, reader.ErrorCode);
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void Dispose_ReturnsBuffers_AndTheReaderStartsAfresh()
    {
        var reader = new FrameReader(Limit);
        try
        {
            var buffer = new ReadOnlySequence<byte>(ClientFrame.Concat(ClientFrame.Build(WebSocketOpcode.Ping, "p"u8), ClientFrame.Text("kept")));
            Assert.Equal(FrameStep.Control, reader.Next(ref buffer));
            Assert.Equal(FrameStep.Message, reader.Next(ref buffer));
            reader.Dispose();
            Assert.Empty(reader.Message);
            Assert.Equal(0, reader.MessageLength);
            Assert.Equal(0, reader.ControlPayload.Length);

            buffer = new ReadOnlySequence<byte>(ClientFrame.Text("again"));
            Assert.Equal(FrameStep.Message, reader.Next(ref buffer));
            Assert.Equal("again", MessageText(reader));
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void Next_WholeFrameInOneArray_IsUnmaskedInPlace_AndTheArrayIsNotTheReaders()
    {
        // The usual message: one frame, all of it in the read. No copy: the message is the input's own array, unmasked
        // where it is, and resetting leaves that array alone (it is the transport's, not the pool's of the reader).
        var input = ClientFrame.Concat(ClientFrame.Text("in place"), ClientFrame.Text("next"));
        var reader = new FrameReader(Limit);
        try
        {
            var buffer = new ReadOnlySequence<byte>(input);
            Assert.Equal(FrameStep.Message, reader.Next(ref buffer));
            Assert.Same(input, reader.Message);
            Assert.Equal(6, reader.MessageOffset); // 2 header bytes and the 4-byte mask.
            Assert.Equal("in place", Encoding.UTF8.GetString(input, 6, 8));
            reader.ResetMessage();
            Assert.Empty(reader.Message);
            Assert.Equal(0, reader.MessageOffset);

            Assert.Equal(FrameStep.Message, reader.Next(ref buffer));
            Assert.Same(input, reader.Message);
            Assert.Equal("next", MessageText(reader));
            Assert.True(buffer.IsEmpty);
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void Next_FrameSplitOverSegmentsOrFragmented_IsCopiedIntoTheReadersBuffer()
    {
        // Not in place: a frame whose payload is not all in the first segment, and a message of several frames.
        var split = ClientFrame.Text("split frame");
        var fragmented = ClientFrame.Concat(ClientFrame.Text("frag", fin: false), ClientFrame.Continuation("mented"));
        var reader = new FrameReader(Limit);
        try
        {
            var buffer = Segments.Split(split, 8);
            Assert.Equal(FrameStep.Message, reader.Next(ref buffer));
            Assert.Equal(0, reader.MessageOffset);
            Assert.Equal("split frame", MessageText(reader));
            reader.ResetMessage();

            buffer = new ReadOnlySequence<byte>(fragmented);
            Assert.Equal(FrameStep.Message, reader.Next(ref buffer));
            Assert.NotSame(fragmented, reader.Message);
            Assert.Equal("fragmented", MessageText(reader));
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void Next_WholeFrameOfInvalidUtf8_IsA1007()
    {
        var reader = new FrameReader(Limit);
        try
        {
            var buffer = new ReadOnlySequence<byte>(ClientFrame.Build(WebSocketOpcode.Text, [0x61, 0xC3, 0x28]));
            Assert.Equal(FrameStep.Error, reader.Next(ref buffer));
            Assert.Equal(1007, reader.ErrorCode);
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void TryNextWhole_WholeFramesInAnArray_AreMessagesInPlace_AndStartMovesPastEach()
    {
        // The direct pump's usual input: whole one-frame messages in the read's array, taken without a sequence.
        var input = ClientFrame.Concat([0xEE], ClientFrame.Text("first"), ClientFrame.Build(WebSocketOpcode.Binary, [1, 2, 3]), [0xEE]);
        var reader = new FrameReader(Limit);
        try
        {
            var start = 1;
            var end = input.Length - 1;
            Assert.True(reader.TryNextWhole(input, ref start, end, out var step));
            Assert.Equal(FrameStep.Message, step);
            Assert.Same(input, reader.Message);
            Assert.Equal(7, reader.MessageOffset);
            Assert.Equal("first", MessageText(reader));
            Assert.Equal(12, start);
            reader.ResetMessage();

            Assert.True(reader.TryNextWhole(input, ref start, end, out step));
            Assert.Equal(FrameStep.Message, step);
            Assert.Equal(WebSocketOpcode.Binary, reader.MessageOpcode);
            Assert.Equal([1, 2, 3], reader.Message.AsSpan(reader.MessageOffset, reader.MessageLength).ToArray());
            Assert.Equal(end, start);
            reader.ResetMessage();

            Assert.False(reader.TryNextWhole(input, ref start, end, out _));
            Assert.Equal(end, start);
        }
        finally
        {
            reader.Dispose();
        }
    }

    // The expected step as a number: FrameStep is internal, a theory's parameters are public.
    public static TheoryData<string, byte[], int> NotWhole => new()
    {
        { "fragment", ClientFrame.Text("frag", fin: false), (int)FrameStep.NeedMore },
        { "ping", ClientFrame.Build(WebSocketOpcode.Ping, "are you there"u8), (int)FrameStep.Control },
        { "header only", ClientFrame.Text("cut short")[..6], (int)FrameStep.NeedMore },
        { "payload cut short", ClientFrame.Text("cut short")[..10], (int)FrameStep.NeedMore },
        { "one byte", [0x81], (int)FrameStep.NeedMore },
        { "unmasked", ClientFrame.Build((byte)WebSocketOpcode.Text, "x"u8, masked: false), (int)FrameStep.Error },
        { "over the limit", ClientFrame.Header((byte)WebSocketOpcode.Text, Limit + 1), (int)FrameStep.TooLarge },
    };

    [Theory]
    [MemberData(nameof(NotWhole))]
    public void TryNextWhole_AnythingElse_IsDeclinedUntouched_AndNextReadsItAsBefore(string name, byte[] frame, int expected)
    {
        // Declined without consuming or unmasking a byte: the sequence parser then takes the same bytes from the start.
        _ = name;
        var original = frame.ToArray();
        var reader = new FrameReader(Limit);
        try
        {
            var start = 0;
            Assert.False(reader.TryNextWhole(frame, ref start, frame.Length, out _));
            Assert.Equal(0, start);
            Assert.Equal(original, frame);

            var buffer = new ReadOnlySequence<byte>(frame);
            Assert.Equal((FrameStep)expected, reader.Next(ref buffer));
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void TryNextWhole_InsideAFragmentedMessage_IsDeclined_AndTheMessageEndsThroughNext()
    {
        var input = ClientFrame.Concat(ClientFrame.Text("frag", fin: false), ClientFrame.Continuation("mented"));
        var reader = new FrameReader(Limit);
        try
        {
            var buffer = new ReadOnlySequence<byte>(input, 0, 10);
            Assert.Equal(FrameStep.NeedMore, reader.Next(ref buffer));
            var start = 10;
            Assert.False(reader.TryNextWhole(input, ref start, input.Length, out _));
            Assert.Equal(10, start);

            buffer = new ReadOnlySequence<byte>(input, 10, input.Length - 10);
            Assert.Equal(FrameStep.Message, reader.Next(ref buffer));
            Assert.Equal("fragmented", MessageText(reader));
        }
        finally
        {
            reader.Dispose();
        }
    }

    [Fact]
    public void TryNextWhole_WholeFrameOfInvalidUtf8_IsTakenAsA1007()
    {
        var input = ClientFrame.Build(WebSocketOpcode.Text, [0x61, 0xC3, 0x28]);
        var reader = new FrameReader(Limit);
        try
        {
            var start = 0;
            Assert.True(reader.TryNextWhole(input, ref start, input.Length, out var step));
            Assert.Equal(FrameStep.Error, step);
            Assert.Equal(1007, reader.ErrorCode);
        }
        finally
        {
            reader.Dispose();
        }
    }

    private static string MessageText(in FrameReader reader) => Encoding.UTF8.GetString(reader.Message, reader.MessageOffset, reader.MessageLength);
}
