using PeerRelay.Client.Internal;

namespace PeerRelay.Client.Tests;

public sealed class SendQueueTests
{
    [Fact]
    public async Task PutBack_IsReadBeforeQueuedMessages()
    {
        var queue = new SendQueue(4);
        var first = new PendingSend([1]);
        var second = new PendingSend([2]);
        await queue.Writer.WriteAsync(first);
        await queue.Writer.WriteAsync(second);

        Assert.True(queue.TryRead(out var taken));
        Assert.Same(first, taken);
        queue.PutBack(taken);

        Assert.True(await queue.WaitToReadAsync(CancellationToken.None));
        Assert.True(queue.TryRead(out var again));
        Assert.Same(first, again);
        Assert.True(queue.TryRead(out var next));
        Assert.Same(second, next);
        Assert.False(queue.TryRead(out _));
    }

    [Fact]
    public async Task FailAll_FailsQueuedAndPutBackMessagesAndClosesTheQueue()
    {
        var queue = new SendQueue(4);
        var queued = new PendingSend([1]);
        var putBack = new PendingSend([2]);
        await queue.Writer.WriteAsync(queued);
        queue.PutBack(putBack);

        queue.FailAll(new ObjectDisposedException("client"));

        await Assert.ThrowsAsync<ObjectDisposedException>(() => queued.Completion);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => putBack.Completion);
        Assert.False(queue.Writer.TryWrite(new PendingSend([3])));
    }
}
