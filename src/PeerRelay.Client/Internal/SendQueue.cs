using System.Threading.Channels;

namespace PeerRelay.Client.Internal;

/// <summary>
/// The client's sends waiting for a registered connection: a bounded channel plus one put-back slot, so a message
/// whose write failed when a connection died goes out first on the next connection. Read by one session at a time.
/// </summary>
internal sealed class SendQueue
{
    private readonly Channel<PendingSend> _channel;
    private PendingSend? _putBack;

    public SendQueue(int capacity) =>
        _channel = Channel.CreateBounded<PendingSend>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });

    public ChannelWriter<PendingSend> Writer => _channel.Writer;

    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken) =>
        Volatile.Read(ref _putBack) is not null ? ValueTask.FromResult(true) : _channel.Reader.WaitToReadAsync(cancellationToken);

    public bool TryRead(out PendingSend item)
    {
        if (Interlocked.Exchange(ref _putBack, null) is { } first)
        {
            item = first;
            return true;
        }

        return _channel.Reader.TryRead(out item!);
    }

    /// <summary>Puts back the message whose write failed; the next connection sends it before anything else.</summary>
    public void PutBack(PendingSend item) => Volatile.Write(ref _putBack, item);

    /// <summary>Closes the queue and fails every message still in it.</summary>
    public void FailAll(Exception error)
    {
        _channel.Writer.TryComplete();
        while (TryRead(out var pending))
        {
            pending.Fail(error);
        }
    }
}
