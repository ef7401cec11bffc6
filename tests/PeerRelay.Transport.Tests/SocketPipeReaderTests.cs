using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using PeerRelay.Testing;
using PeerRelay.Transport.Internal;

namespace PeerRelay.Transport.Tests;

public sealed class SocketPipeReaderTests
{
    [Fact]
    public async Task Read_WaitsForBytes_ThenReturnsThem_AndHoldsNoBufferOnceAllAreConsumed()
    {
        using var pair = await SocketPair.ConnectAsync();
        var reader = new SocketPipeReader(pair.Server, 4096);
        var read = reader.ReadAsync();
        Assert.False(read.IsCompleted); // Nothing sent yet.
        Assert.False(reader.HoldsBuffer);

        await pair.Client.SendAsync("hello"u8.ToArray());
        var result = await read.AsTask().WithTimeout();
        Assert.Equal("hello", Encoding.ASCII.GetString(result.Buffer.ToArray()));
        Assert.False(result.IsCompleted);
        reader.AdvanceTo(result.Buffer.End);
        Assert.False(reader.HoldsBuffer);
    }

    [Fact]
    public async Task Read_AfterExaminingAll_ReturnsTheUnconsumedBytesWithTheNewOnes()
    {
        using var pair = await SocketPair.ConnectAsync();
        var reader = new SocketPipeReader(pair.Server, 4096);
        await pair.Client.SendAsync("GET / HT"u8.ToArray());
        var first = await reader.ReadAsync().AsTask().WithTimeout();
        reader.AdvanceTo(first.Buffer.GetPosition(4), first.Buffer.End); // "GET " consumed, the rest examined.

        var second = reader.ReadAsync();
        Assert.False(second.IsCompleted); // Everything was examined: it waits for more.
        await pair.Client.SendAsync("TP/1.1"u8.ToArray());
        var result = await second.AsTask().WithTimeout();
        Assert.Equal("/ HTTP/1.1", Encoding.ASCII.GetString(result.Buffer.ToArray()));
    }

    [Fact]
    public async Task Read_MoreThanTheBufferUnconsumed_GrowsAndKeepsEveryByteInOrder()
    {
        using var pair = await SocketPair.ConnectAsync();
        var reader = new SocketPipeReader(pair.Server, 1024);
        var sent = new byte[100_000];
        Random.Shared.NextBytes(sent);
        var sending = pair.Client.SendAsync(sent);

        ReadResult result;
        while (true)
        {
            result = await reader.ReadAsync().AsTask().WithTimeout();
            if (result.Buffer.Length >= sent.Length)
            {
                break;
            }

            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End); // Consume nothing until all is there.
        }

        await sending.WithTimeout();
        Assert.Equal(sent, result.Buffer.ToArray());
    }

    [Fact]
    public async Task Read_PeerClosed_IsCompleted()
    {
        using var pair = await SocketPair.ConnectAsync();
        var reader = new SocketPipeReader(pair.Server, 4096);
        await pair.Client.SendAsync("bye"u8.ToArray());
        pair.Client.Shutdown(System.Net.Sockets.SocketShutdown.Send);

        var result = await reader.ReadAsync().AsTask().WithTimeout();
        while (!result.IsCompleted)
        {
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            result = await reader.ReadAsync().AsTask().WithTimeout();
        }

        Assert.Equal("bye", Encoding.ASCII.GetString(result.Buffer.ToArray()));
    }

    [Fact]
    public async Task CancelPendingRead_ReturnsCanceled_AndTheNextReadStillGetsTheBytes()
    {
        using var pair = await SocketPair.ConnectAsync();
        var reader = new SocketPipeReader(pair.Server, 4096);
        var read = reader.ReadAsync();
        reader.CancelPendingRead();
        var cancelled = await read.AsTask().WithTimeout();
        Assert.True(cancelled.IsCanceled);

        var next = reader.ReadAsync();
        await pair.Client.SendAsync("x"u8.ToArray());
        var result = await next.AsTask().WithTimeout();
        Assert.False(result.IsCanceled);
        Assert.Equal("x", Encoding.ASCII.GetString(result.Buffer.ToArray()));
    }

    [Fact]
    public async Task CancelPendingRead_WithNoReadPending_CancelsTheNextRead()
    {
        using var pair = await SocketPair.ConnectAsync();
        var reader = new SocketPipeReader(pair.Server, 4096);
        reader.CancelPendingRead();
        var result = await reader.ReadAsync().AsTask().WithTimeout();
        Assert.True(result.IsCanceled);
    }

    [Fact]
    public async Task Read_TokenCancelled_Throws_AndTheNextReadStillGetsTheBytes()
    {
        using var pair = await SocketPair.ConnectAsync();
        var reader = new SocketPipeReader(pair.Server, 4096);
        using var cancel = new CancellationTokenSource();
        var read = reader.ReadAsync(cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.AsTask().WithTimeout());

        await pair.Client.SendAsync("y"u8.ToArray());
        var result = await reader.ReadAsync().AsTask().WithTimeout();
        Assert.Equal("y", Encoding.ASCII.GetString(result.Buffer.ToArray()));
    }

    [Fact]
    public async Task Read_SocketClosedWhileWaiting_FailsWithIOException()
    {
        using var pair = await SocketPair.ConnectAsync();
        var reader = new SocketPipeReader(pair.Server, 4096);
        var read = reader.ReadAsync();
        pair.Server.Dispose();
        await Assert.ThrowsAsync<IOException>(() => read.AsTask().WithTimeout());
    }

    [Fact]
    public async Task TryRead_ReturnsWhatTheKernelHolds_WithoutWaiting()
    {
        using var pair = await SocketPair.ConnectAsync();
        var reader = new SocketPipeReader(pair.Server, 4096);
        Assert.False(reader.TryRead(out _));
        await pair.Client.SendAsync("now"u8.ToArray());
        var result = await reader.ReadAsync().AsTask().WithTimeout(); // Waits until it has arrived.
        reader.AdvanceTo(result.Buffer.Start, result.Buffer.Start); // Nothing examined: TryRead returns it again.
        Assert.True(reader.TryRead(out var again));
        Assert.Equal("now", Encoding.ASCII.GetString(again.Buffer.ToArray()));
    }
}
