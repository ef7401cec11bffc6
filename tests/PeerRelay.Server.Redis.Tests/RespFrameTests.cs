using System.Text;
using PeerRelay.Server.Redis.Internal;

namespace PeerRelay.Server.Redis.Tests;

/// <summary>The RESP2 reader of the node channel's own connection: pure, bytes in, the elements' places out.</summary>
public sealed class RespFrameTests
{
    [Fact]
    public void Message_IsReadWithItsChannelAndPayload_AndNothingMore()
    {
        var bytes = "*3\r\n$7\r\nmessage\r\n$4\r\nch:a\r\n$5\r\nhe\r\no\r\n+OK\r\n"u8.ToArray();
        Assert.True(RespFrame.TryRead(bytes, out var frame, out var consumed));
        Assert.Equal(3, frame.Count);
        Assert.False(frame.IsError);
        Assert.Equal("message", Encoding.UTF8.GetString(frame.Element(bytes, 0)));
        Assert.Equal("ch:a", Encoding.UTF8.GetString(frame.Element(bytes, 1)));
        Assert.Equal("he\r\no", Encoding.UTF8.GetString(frame.Element(bytes, 2))); // Binary-safe: a CRLF inside the payload.
        Assert.Equal(bytes.Length - "+OK\r\n".Length, consumed);

        Assert.True(RespFrame.TryRead(bytes.AsSpan(consumed), out var ok, out var okLength));
        Assert.Equal((1, false, "OK", 5), (ok.Count, ok.IsError, Encoding.UTF8.GetString(ok.Element(bytes.AsSpan(consumed), 0)), okLength));
    }

    [Fact]
    public void EveryShorterPrefix_AsksForMore()
    {
        var bytes = "*3\r\n$8\r\nsmessage\r\n$4\r\nch:a\r\n$3\r\nabc\r\n"u8.ToArray();
        for (var length = 0; length < bytes.Length; length++)
        {
            Assert.False(RespFrame.TryRead(bytes.AsSpan(0, length), out _, out _), $"complete at {length} of {bytes.Length} bytes");
        }

        Assert.True(RespFrame.TryRead(bytes, out _, out var consumed));
        Assert.Equal(bytes.Length, consumed);
    }

    [Fact]
    public void SubscriptionConfirmation_Error_AndPong_AreRead()
    {
        var subscribe = "*3\r\n$9\r\nsubscribe\r\n$4\r\nch:a\r\n:1\r\n"u8.ToArray();
        Assert.True(RespFrame.TryRead(subscribe, out var frame, out _));
        Assert.Equal("1", Encoding.UTF8.GetString(frame.Element(subscribe, 2)));

        var error = "-WRONGPASS invalid username-password pair\r\n"u8.ToArray();
        Assert.True(RespFrame.TryRead(error, out var refused, out _));
        Assert.True(refused.IsError);
        Assert.StartsWith("WRONGPASS", Encoding.UTF8.GetString(refused.Element(error, 0)), StringComparison.Ordinal);

        var pong = "*2\r\n$4\r\npong\r\n$-1\r\n"u8.ToArray();
        Assert.True(RespFrame.TryRead(pong, out var reply, out var consumed));
        Assert.Equal((2, 0, pong.Length), (reply.Count, reply.Element(pong, 1).Length, consumed));
    }

    [Theory]
    [InlineData("*9\r\n")]
    [InlineData("%1\r\n")]
    [InlineData("*x\r\n")]
    public void BytesThatAreNotExpectedRESP_AreRefused(string text) =>
        Assert.Throws<InvalidDataException>(() => RespFrame.TryRead(Encoding.ASCII.GetBytes(text), out _, out _));
}
