using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using PeerRelay.Testing;

namespace PeerRelay.Transport.Tests;

/// <summary>
/// <see cref="IDirectSendFeature"/> on both transports: sent at once only when nothing written before is still to go
/// out, so the order with the pipe writer holds; what the kernel does not take waits for the flush; under a wrapping
/// transport (TLS) the bytes go through the wrapper; a failed socket is reported by the flush.
/// </summary>
public sealed class DirectSendTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TrySend_SendsAtOnce_WhenNothingIsAhead_AndQueuesBehindUnflushedBytes(bool epoll)
    {
        await using var accepted = await AcceptedConnections.StartAsync(epoll, TimeSpan.Zero);
        var (client, connection) = await accepted.ConnectAsync();
        using var _ = client;
        await using var __ = connection;
        var direct = Assert.IsAssignableFrom<IDirectSendFeature>(connection.Features.Get<IDirectSendFeature>());
        var output = connection.Transport.Output;

        Assert.True(direct.TrySend("one|"u8));
        Assert.Equal("one|"u8.ToArray(), await ReceiveAsync(client, 4));

        "two|"u8.CopyTo(output.GetSpan(4));
        output.Advance(4);
        Assert.False(direct.TrySend("three|"u8)); // Behind the unflushed bytes, not before them.
        Assert.Equal(10, output.UnflushedBytes);
        Assert.False((await output.FlushAsync().AsTask().WithTimeout()).IsCompleted);
        Assert.True(direct.TrySend("four"u8));
        Assert.Equal("two|three|four"u8.ToArray(), await ReceiveAsync(client, 14));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TrySend_PeerNotReading_KeepsWhatTheKernelDidNotTake_ForTheFlush_InOrder(bool epoll)
    {
        await using var accepted = await AcceptedConnections.StartAsync(epoll, TimeSpan.Zero);
        var (client, connection) = await accepted.ConnectAsync();
        using var _ = client;
        await using var __ = connection;
        var direct = connection.Features.Get<IDirectSendFeature>()!;
        var output = connection.Transport.Output;

        // Until the kernel's buffers are full: the chunk that fills them is partly sent, its rest kept unflushed.
        var sent = new List<byte>();
        var chunk = 0;
        bool all;
        do
        {
            var bytes = Pattern(65536, chunk++);
            all = direct.TrySend(bytes);
            sent.AddRange(bytes);
            Assert.True(chunk < 2000, "The kernel took 128 MiB from a peer that does not read.");
        }
        while (all);

        Assert.True(output.UnflushedBytes > 0);
        var last = Pattern(100, chunk);
        Assert.False(direct.TrySend(last)); // Behind the rest, not sent past it.
        sent.AddRange(last);

        var flush = output.FlushAsync();
        var received = await ReceiveAsync(client, sent.Count);
        Assert.False((await flush.AsTask().WithTimeout()).IsCompleted);
        Assert.Equal(sent.ToArray(), received);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TrySend_UnderAWrappingTransport_WritesToTheWrapper(bool epoll)
    {
        await using var accepted = await AcceptedConnections.StartAsync(epoll, TimeSpan.Zero);
        var (client, connection) = await accepted.ConnectAsync();
        using var _ = client;
        await using var __ = connection;
        var direct = connection.Features.Get<IDirectSendFeature>()!;

        // A TLS layer sets the connection's transport to its own pipe: sending to the socket would bypass it.
        var socketPipe = connection.Transport;
        var wrapper = new Pipe();
        connection.Transport = new WrappedPipe(socketPipe.Input, wrapper.Writer);
        Assert.False(direct.TrySend("secret"u8));
        Assert.Equal(6, wrapper.Writer.UnflushedBytes);
        await wrapper.Writer.FlushAsync().AsTask().WithTimeout();
        var wrapped = await wrapper.Reader.ReadAsync().AsTask().WithTimeout();
        Assert.Equal("secret"u8.ToArray(), wrapped.Buffer.ToArray());

        // Nothing went to the socket: the first bytes the client gets are sent after unwrapping.
        connection.Transport = socketPipe;
        Assert.True(direct.TrySend("plain"u8));
        Assert.Equal("plain"u8.ToArray(), await ReceiveAsync(client, 5));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TrySend_AfterThePeerReset_FailsAndTheFlushReportsTheConnectionGone(bool epoll)
    {
        await using var accepted = await AcceptedConnections.StartAsync(epoll, TimeSpan.Zero);
        var (client, connection) = await accepted.ConnectAsync();
        await using var _ = connection;
        var direct = connection.Features.Get<IDirectSendFeature>()!;
        client.LingerState = new LingerOption(true, 0);
        client.Close(); // RST.

        // The reset is already delivered on loopback; a send or two later the socket reports it.
        var failed = false;
        for (var attempt = 0; attempt < 10 && !failed; attempt++)
        {
            failed = !direct.TrySend([1]);
        }

        Assert.True(failed);
        Assert.True((await connection.Transport.Output.FlushAsync().AsTask().WithTimeout()).IsCompleted);
    }

    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static async Task<byte[]> ReceiveAsync(Socket client, int count)
    {
        var buffer = new byte[count];
        var read = 0;
        while (read < count)
        {
            var n = await client.ReceiveAsync(buffer.AsMemory(read)).AsTask().WithTimeout();
            Assert.NotEqual(0, n);
            read += n;
        }

        return buffer;
    }
}
