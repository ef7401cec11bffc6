using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using PeerRelay.Server.Routing;

namespace PeerRelay.Server.Internal;

/// <summary>
/// A forward to another node whose outcome the sender's receive loop does not wait for: when the registry completes it
/// (on its own thread), <see cref="RelayRouter.OnDelivered"/> counts it or echoes it back with an error. Pooled, with
/// its continuation delegate made once, so a forward in flight allocates nothing here.
/// </summary>
internal sealed class PendingForward
{
    private static readonly ConcurrentQueue<PendingForward> s_pool = new();

    private readonly Action _onCompleted;
    private RelayRouter _router = null!;
    private RelayConnection _connection = null!;
    private RelayClientRegistration _source = null!;
    private Guid _peer;
    private OutboundMessage _message;
    private long _received;
    private ConfiguredValueTaskAwaitable<RelayDeliveryStatus>.ConfiguredValueTaskAwaiter _awaiter;

    private PendingForward() => _onCompleted = OnCompleted;

    /// <summary>Handles <paramref name="delivery"/>'s outcome when it completes; takes ownership of <paramref name="message"/>.</summary>
    public static void Start(
        RelayRouter router, RelayConnection connection, RelayClientRegistration source, Guid peer, OutboundMessage message, long received, ValueTask<RelayDeliveryStatus> delivery)
    {
        if (!s_pool.TryDequeue(out var pending))
        {
            pending = new PendingForward();
        }

        pending._router = router;
        pending._connection = connection;
        pending._source = source;
        pending._peer = peer;
        pending._message = message;
        pending._received = received;
        pending._awaiter = delivery.ConfigureAwait(false).GetAwaiter();
        pending._awaiter.UnsafeOnCompleted(pending._onCompleted);
    }

    /// <summary>
    /// The outcome of a completed forward. A forward cancelled (its sender's connection aborted) is counted as the
    /// registry being unavailable, on every path: whether it reached the other node is not known.
    /// </summary>
    internal static RelayDeliveryStatus Outcome(ConfiguredValueTaskAwaitable<RelayDeliveryStatus>.ConfiguredValueTaskAwaiter completed)
    {
        try
        {
            return completed.GetResult();
        }
        catch (OperationCanceledException)
        {
            return RelayDeliveryStatus.Unavailable;
        }
    }

    private void OnCompleted()
    {
        var (router, connection, source, peer, message, received) = (_router, _connection, _source, _peer, _message, _received);
        var status = Outcome(_awaiter);
        _awaiter = default;
        _router = null!;
        _connection = null!;
        _source = null!;
        _message = default;
        s_pool.Enqueue(this);
        Interlocked.Decrement(ref connection.ForwardsInFlight);
        router.OnDelivered(connection, source, peer, message, status, received);
    }
}
