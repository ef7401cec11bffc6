using System.IO.Pipelines;
using PeerRelay.Testing;
using PeerRelay.Transport.Internal;

namespace PeerRelay.Transport.Tests;

public sealed class SocketPipeWriterTests
{
    [Fact]
    public async Task Flush_SendsAtOnce_WhenTheKernelTakesEverything()
    {
        using var pair = await SocketPair.ConnectAsync();
        var writer = new SocketPipeWriter(pair.Server);
        "hello"u8.CopyTo(writer.GetSpan(5));
        writer.Advance(5);
        Assert.Equal(5, writer.UnflushedBytes);
        var flush = writer.FlushAsync();
        Assert.True(flush.IsCompletedSuccessfully);
        Assert.False((await flush).IsCompleted);
        Assert.Equal(0, writer.UnflushedBytes);
        Assert.Equal("hello"u8.ToArray(), await pair.ClientReceiveAsync(5).WithTimeout());
    }

    [Fact]
    public async Task Flush_PeerNotReading_PendsUntilItReads_AndBytesFlushedMeanwhileFollowInOrder()
    {
        using var pair = await SocketPair.ConnectAsync(serverSendBuffer: 4096, clientReceiveBuffer: 4096);
        var (writer, first) = WriteMoreThanTheKernelTakes(pair, seed: 1);
        var flush = writer.FlushAsync();
        Assert.False(flush.IsCompleted); // 4 MiB do not fit the kernel's buffers.

        // A flush cancelled while the send is in flight; the next one queues its bytes behind it.
        writer.CancelPendingFlush();
        Assert.True((await flush.AsTask().WithTimeout()).IsCanceled);
        var second = Pattern(1000, seed: 2);
        second.CopyTo(writer.GetSpan(second.Length));
        writer.Advance(second.Length);
        var secondFlush = writer.FlushAsync();

        var received = await pair.ClientReceiveAsync(first.Length + second.Length).WithTimeout();
        var done = await secondFlush.AsTask().WithTimeout();
        Assert.False(done.IsCompleted);
        Assert.Equal([.. first, .. second], received);
    }

    [Fact]
    public async Task Complete_SendsWhatWasWrittenButNotFlushed()
    {
        using var pair = await SocketPair.ConnectAsync();
        var writer = new SocketPipeWriter(pair.Server);
        "last"u8.CopyTo(writer.GetSpan(4));
        writer.Advance(4);
        writer.Complete();
        Assert.Equal("last"u8.ToArray(), await pair.ClientReceiveAsync(4).WithTimeout());
    }

    [Fact]
    public async Task Flush_AfterThePeerReset_ReportsCompleted()
    {
        using var pair = await SocketPair.ConnectAsync();
        var writer = new SocketPipeWriter(pair.Server);
        pair.Client.LingerState = new System.Net.Sockets.LingerOption(true, 0);
        pair.Client.Close(); // RST.

        // The reset is already delivered on loopback; a send or two later the writer knows the connection is gone.
        FlushResult result = default;
        for (var attempt = 0; attempt < 10 && !result.IsCompleted; attempt++)
        {
            writer.GetSpan(1)[0] = 1;
            writer.Advance(1);
            result = await writer.FlushAsync().AsTask().WithTimeout();
        }

        Assert.True(result.IsCompleted);
    }

    [Fact]
    public async Task Flush_TokenCancelled_Throws_AndTheBytesStillArrive()
    {
        using var pair = await SocketPair.ConnectAsync(serverSendBuffer: 4096, clientReceiveBuffer: 4096);
        var (writer, data) = WriteMoreThanTheKernelTakes(pair, seed: 3);
        using var cancel = new CancellationTokenSource();
        var flush = writer.FlushAsync(cancel.Token);
        Assert.False(flush.IsCompleted);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => flush.AsTask().WithTimeout());
        Assert.Equal(data, await pair.ClientReceiveAsync(data.Length).WithTimeout());
    }

    /// <summary>A writer with 4 MiB written, not flushed: more than the (small) socket buffers of <paramref name="pair"/> take.</summary>
    private static (SocketPipeWriter Writer, byte[] Data) WriteMoreThanTheKernelTakes(SocketPair pair, int seed)
    {
        var writer = new SocketPipeWriter(pair.Server);
        var data = Pattern(4 << 20, seed);
        data.CopyTo(writer.GetSpan(data.Length));
        writer.Advance(data.Length);
        return (writer, data);
    }

    private static byte[] Pattern(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
